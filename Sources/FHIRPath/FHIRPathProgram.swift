/// An expression prepared for repeated evaluation: every part that gives the same answer for
/// every item an iterating function (`all`, `where`, `exists`, `select`) visits is evaluated once
/// per evaluation, not once per item.
///
/// The dosage invariants of the dispensing profiles (`DosageDoseUnitSameCode`, `TimingOnlyOneBounds`,
/// …) iterate over `%resource`'s dosage instructions and, for each, collect all of them again:
/// evaluated as written, that is quadratic in the number of dosages, and each runs once per dosage
/// instruction, so a body with many dosages cost cubic time (issue 19). Hoisted, one evaluation is
/// linear; ``dependsOnElement`` lets a validator evaluate such an invariant once per resource.
public struct FHIRPathProgram: Sendable, Hashable {
    /// The expression with the hoisted parts replaced by references to them.
    public let expression: FHIRPathExpression
    /// The hoisted parts, evaluated at most once per evaluation, on first use.
    let hoisted: [FHIRPathExpression]
    /// Whether the result can differ between two elements of the same resource: `false` when the
    /// expression reads only `%resource`, `%rootResource` and constants outside its iterations.
    public let dependsOnElement: Bool

    public init(_ expression: FHIRPathExpression) {
        var hoisted: [FHIRPathExpression] = []
        self.expression = Self.hoist(expression, insideIteration: false, into: &hoisted)
        self.hoisted = hoisted
        let use = Self.focusUse(expression)
        dependsOnElement = use.focus || use.context
    }

    /// The name a hoisted part is referred to by: no parsed variable name starts with U+0001.
    static func name(ofHoisted index: Int) -> String { "\u{1}\(index)" }

    static func hoistedIndex(_ name: String) -> Int? {
        guard name.utf8.first == 1 else { return nil }
        return Int(name.dropFirst())
    }

    /// Replaces every part inside an iteration that reads no focus and costs more than a literal.
    private static func hoist(_ expression: FHIRPathExpression, insideIteration: Bool,
                              into hoisted: inout [FHIRPathExpression]) -> FHIRPathExpression {
        if insideIteration, !focusUse(expression).focus, isCostly(expression) {
            hoisted.append(expression)
            return .variable(name(ofHoisted: hoisted.count - 1))
        }
        func inner(_ part: FHIRPathExpression, iterating: Bool = false) -> FHIRPathExpression {
            hoist(part, insideIteration: insideIteration || iterating, into: &hoisted)
        }
        switch expression {
        case .empty, .string, .number, .boolean, .date, .this, .variable:
            return expression
        case .member(let base, let name):
            return .member(base.map { inner($0) }, name)
        case .call(let base, let function, let arguments):
            let iterates = function.kind.map(Self.iterating.contains) ?? false
            return .call(base.map { inner($0) }, function, arguments.map { inner($0, iterating: iterates) })
        case .index(let base, let index):
            return .index(inner(base), inner(index))
        case .unary(let sign, let operand):
            return .unary(sign, inner(operand))
        case .binary(let op, let left, let right):
            return .binary(op, inner(left), inner(right))
        case .type(let op, let operand, let typeName):
            return .type(op, inner(operand), typeName)
        }
    }

    /// The functions that evaluate their first argument once per input item.
    static let iterating: Set<FHIRPathFunctionKind> = [.all, .exists, .where, .select]

    private static func isCostly(_ expression: FHIRPathExpression) -> Bool {
        switch expression {
        case .member, .call, .index, .binary, .type, .unary: true
        case .empty, .string, .number, .boolean, .date, .this, .variable: false
        }
    }

    /// Whether an expression reads the focus it is evaluated on (`$this`, or a path or function
    /// without a base), and whether it reads `%context` (the element the evaluation started on).
    /// Arguments of a function with a base read that base's result, not the outer focus.
    static func focusUse(_ expression: FHIRPathExpression) -> (focus: Bool, context: Bool) {
        switch expression {
        case .empty, .string, .number, .boolean, .date: return (false, false)
        case .this: return (true, false)
        case .variable(let name): return (false, name == "context")
        case .member(nil, _): return (true, false)
        case .member(let base?, _): return focusUse(base)
        case .call(nil, _, let arguments):
            return (true, arguments.contains { focusUse($0).context })
        case .call(let base?, _, let arguments):
            let use = focusUse(base)
            return (use.focus, use.context || arguments.contains { focusUse($0).context })
        case .index(let base, let index):
            return combined(focusUse(base), focusUse(index))
        case .unary(_, let operand), .type(_, let operand, _):
            return focusUse(operand)
        case .binary(_, let left, let right):
            return combined(focusUse(left), focusUse(right))
        }
    }

    private static func combined(_ a: (focus: Bool, context: Bool), _ b: (focus: Bool, context: Bool)) -> (focus: Bool, context: Bool) {
        (a.focus || b.focus, a.context || b.context)
    }
}

/// The hoisted parts' values within one evaluation, computed on first use (so an error or a cost
/// arises only where the expression as written would have evaluated the part).
final class HoistedValues {
    let expressions: [FHIRPathExpression]
    var values: [[FHIRPathItem]?]

    init(_ expressions: [FHIRPathExpression]) {
        self.expressions = expressions
        values = Array(repeating: nil, count: expressions.count)
    }
}
