/// A function name as parsed, with what it means resolved once at parse time: the evaluator then
/// dispatches on ``Kind`` instead of comparing the text against every supported name on each call
/// (invariants run on every element of every validation).
///
/// An unsupported name still parses (its ``kind`` is `nil`): evaluating it raises the error that
/// the validator reports as an invariant it could not check.
public struct FHIRPathFunction: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let name: String
    let kind: Kind?

    public init(_ name: String) {
        self.name = name
        kind = Kind(rawValue: name)
    }

    public init(stringLiteral name: String) { self.init(name) }

    public var description: String { name }

    public static func == (left: Self, right: Self) -> Bool { left.name == right.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }

    enum Kind: String, CaseIterable {
        case exists, empty, count, all, `where`, select, matches, length, toString, not, first, last
        case hasValue, startsWith, endsWith, contains, ofType, resolve, iif, distinct, isDistinct
        case `extension`, single, allTrue, anyTrue, trace, lower, upper, children, today, now
        case substring, split, replace, indexOf, descendants, `as`, `is`, join
    }
}

/// A binary operator as parsed, resolved to its ``Kind`` once (see ``FHIRPathFunction``).
public struct FHIRPathOperator: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let symbol: String
    let kind: Kind?

    public init(_ symbol: String) {
        self.symbol = symbol
        kind = Kind(rawValue: symbol)
    }

    public init(stringLiteral symbol: String) { self.init(symbol) }

    public var description: String { symbol }

    public static func == (left: Self, right: Self) -> Bool { left.symbol == right.symbol }
    public func hash(into hasher: inout Hasher) { hasher.combine(symbol) }

    enum Kind: String {
        case and, or, xor, implies
        case union = "|"
        case equal = "=", notEqual = "!="
        case equivalent = "~", notEquivalent = "!~"
        case less = "<", greater = ">", lessOrEqual = "<=", greaterOrEqual = ">="
        case `in`, contains
        case concatenate = "&"
        case plus = "+", minus = "-", times = "*", divide = "/", div, mod
    }
}
