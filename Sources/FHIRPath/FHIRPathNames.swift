/// A name in an expression (a function or an operator) as parsed, with what it means resolved once
/// at parse time: the evaluator dispatches on ``kind`` instead of comparing the text against every
/// supported name on each call (invariants run on every element of every validation).
///
/// An unsupported name still parses (its ``kind`` is `nil`): evaluating it raises the error that
/// the validator reports as an invariant it could not check. Two names are equal when their text is.
public struct FHIRPathName<Kind>: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible
where Kind: RawRepresentable & Sendable, Kind.RawValue == String {
    public let text: String
    public let kind: Kind?

    public init(_ text: String) {
        self.text = text
        kind = Kind(rawValue: text)
    }

    public init(stringLiteral text: String) { self.init(text) }

    public var description: String { text }

    public static func == (left: Self, right: Self) -> Bool { left.text == right.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }
}

public typealias FHIRPathFunction = FHIRPathName<FHIRPathFunctionKind>
public typealias FHIRPathOperator = FHIRPathName<FHIRPathOperatorKind>

/// The functions the evaluator supports.
public enum FHIRPathFunctionKind: String, Sendable, CaseIterable {
    case exists, empty, count, all, `where`, select, matches, length, toString, not, first, last
    case hasValue, startsWith, endsWith, contains, ofType, resolve, iif, distinct, isDistinct
    case `extension`, single, allTrue, anyTrue, trace, lower, upper, children, today, now
    case substring, split, replace, indexOf, descendants, `as`, `is`, join
}

/// The binary operators of the grammar (`is` and `as` are type expressions, not these).
public enum FHIRPathOperatorKind: String, Sendable {
    case and, or, xor, implies
    case union = "|"
    case equal = "=", notEqual = "!="
    case equivalent = "~", notEquivalent = "!~"
    case less = "<", greater = ">", lessOrEqual = "<=", greaterOrEqual = ">="
    case `in`, contains
    case concatenate = "&"
    case plus = "+", minus = "-", times = "*", divide = "/", div, mod
}
