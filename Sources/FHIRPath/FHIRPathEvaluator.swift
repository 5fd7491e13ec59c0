public import FHIRModel
import Foundation

/// One item of a FHIRPath collection: a node of the tree with its FHIR type, or a System value.
public enum FHIRPathItem: Sendable, Hashable {
    case node(Element, NodeType)
    case string(String)
    case boolean(Bool)
    case integer(Int)
    case decimal(Double)
    /// A date, dateTime or instant, as its text (compared by precision-aware text comparison).
    case date(String)

    public enum NodeType: Sendable, Hashable {
        case type(Int)                       // complex type, backbone or resource, by index
        case primitive(PrimitiveType, Int)   // the primitive and its own type index
        case system
    }
}

/// Evaluates FHIRPath expressions over element trees, with navigation typed by the R4 definitions.
///
/// Semantics follow FHIRPath N1 as the HL7 Java validator applies it to R4: empty propagates,
/// `and`/`or`/`implies` use three-valued logic, `matches` is a whole-string match. Functions outside
/// the supported set raise ``FHIRPathError`` so that callers report them instead of passing silently.
public struct FHIRPathEvaluator: Sendable {
    public let definitions: TypeDefinitions

    public init(definitions: TypeDefinitions = R4CoreDefinitions.shared) {
        self.definitions = definitions
    }

    /// The supported functions, for documentation and for validators that list what they can check.
    public static let functions: Set<String> = Set(FHIRPathFunctionKind.allCases.map(\.rawValue))

    struct Context {
        /// `%resource`: the resource that holds the focus.
        var resource: FHIRPathItem
        /// `%context`: the element the expression started on.
        var root: FHIRPathItem
        /// `%rootResource`: the resource that contains `resource` when it is contained, else `resource`.
        var rootResource: FHIRPathItem
        /// The outermost resource (a Bundle or Parameters), where `resolve()` looks.
        var document: FHIRPathItem
        /// The values of a ``FHIRPathProgram``'s hoisted parts, when a program is evaluated.
        var hoisted: HoistedValues? = nil
    }

    /// Evaluates `expression` on `resource` (a resource tree); the result collection.
    public func evaluate(_ expression: FHIRPathExpression, on resource: Element) throws(FHIRPathError) -> [FHIRPathItem] {
        guard let typeIndex = definitions.index(of: resource.name) else {
            throw FHIRPathError("'\(resource.name)' is not a known resource type")
        }
        let root = FHIRPathItem.node(resource, .type(typeIndex))
        return try evaluate(expression, focus: [root], context: Context(resource: root, root: root, rootResource: root, document: root))
    }

    /// Evaluates on a node inside a resource (an invariant on an element): `%resource` is `resource`,
    /// `%rootResource` is `rootResource` (the resource containing it, for a contained one), and `resolve()`
    /// looks through `document` (the Bundle or Parameters the resources travel in).
    public func evaluate(_ expression: FHIRPathExpression, on item: FHIRPathItem, in resource: Element,
                         rootResource: Element? = nil, document: Element? = nil) throws(FHIRPathError) -> [FHIRPathItem]
    {
        func node(_ element: Element?) -> FHIRPathItem? {
            element.map { FHIRPathItem.node($0, .type(definitions.index(of: $0.name) ?? 0)) }
        }
        let holder = FHIRPathItem.node(resource, .type(definitions.index(of: resource.name) ?? 0))
        let root = node(rootResource) ?? holder
        return try evaluate(expression, on: item, resource: holder, rootResource: root, document: node(document) ?? root)
    }

    /// The same with the resources already typed (a validator evaluates many invariants in one
    /// resource, and typing each by its name cost a lookup per resource per invariant).
    public func evaluate(_ expression: FHIRPathExpression, on item: FHIRPathItem, resource: FHIRPathItem,
                         rootResource: FHIRPathItem, document: FHIRPathItem) throws(FHIRPathError) -> [FHIRPathItem]
    {
        try evaluate(expression, focus: [item], context: Context(resource: resource, root: item, rootResource: rootResource,
                                                                 document: document))
    }

    /// Evaluates a prepared program (its hoisted parts once each) on a node inside a resource.
    public func evaluate(_ program: FHIRPathProgram, on item: FHIRPathItem, resource: FHIRPathItem,
                         rootResource: FHIRPathItem, document: FHIRPathItem) throws(FHIRPathError) -> [FHIRPathItem]
    {
        let hoisted = program.hoisted.isEmpty ? nil : HoistedValues(program.hoisted)
        return try evaluate(program.expression, focus: [item], context: Context(
            resource: resource, root: item, rootResource: rootResource, document: document, hoisted: hoisted))
    }

    /// Whether an invariant holds: true, or empty (FHIR treats an empty result as not failing).
    public func holds(_ expression: FHIRPathExpression, on resource: Element) throws(FHIRPathError) -> Bool {
        let result = try evaluate(expression, on: resource)
        return try Self.boolean(result) ?? true
    }

    func evaluate(_ expression: FHIRPathExpression, focus: [FHIRPathItem], context: Context) throws(FHIRPathError)
        -> [FHIRPathItem]
    {
        switch expression {
        case .empty: return []
        case .string(let text): return [.string(text)]
        case .boolean(let value): return Self.result(value)
        case .number(let text):
            if let integer = Int(text) { return [.integer(integer)] }
            return [.decimal(Double(text) ?? 0)]
        case .date(let text): return [.date(text)]
        case .this: return focus
        case .variable(let name):
            switch name {
            case "resource": return [context.resource]
            case "rootResource": return [context.rootResource]
            case "context": return [context.root]
            case "ucum": return [.string("http://unitsofmeasure.org")]
            case "sct": return [.string("http://snomed.info/sct")]
            case "loinc": return [.string("http://loinc.org")]
            default:
                if let index = FHIRPathProgram.hoistedIndex(name), let table = context.hoisted, table.expressions.indices.contains(index) {
                    if let value = table.values[index] { return value }
                    // A hoisted part reads no focus: the one given is as good as any.
                    let value = try evaluate(table.expressions[index], focus: focus, context: context)
                    table.values[index] = value
                    return value
                }
                throw FHIRPathError("unsupported variable %\(name)")
            }
        case .member(let base, let name):
            let input = try base.map { (base) throws(FHIRPathError) in try evaluate(base, focus: focus, context: context) } ?? focus
            var step = MemberStep(name: name, isFirstStep: base == nil)
            var result: [FHIRPathItem] = []
            for item in input { appendChildren(of: item, step: &step, to: &result) }
            return result
        case .index(let base, let indexExpression):
            let items = try evaluate(base, focus: focus, context: context)
            guard case .integer(let index)? = try evaluate(indexExpression, focus: focus, context: context).first else {
                throw FHIRPathError("index must be an integer")
            }
            return items.indices.contains(index) ? [items[index]] : []
        case .call(let base, let function, let arguments):
            let input = try base.map { (base) throws(FHIRPathError) in try evaluate(base, focus: focus, context: context) } ?? focus
            return try call(function, on: input, arguments: arguments, context: context)
        case .unary(let sign, let operand):
            let value = try evaluate(operand, focus: focus, context: context)
            guard sign == "-", let item = value.first else { return value }
            switch systemValue(item) {
            // The least integer has no negation among the integers: empty, as for a quotient beyond
            // them, never a trap (the fuzzer found `-(-9223372036854775807 - 1)`).
            case .integer(let number): return number == .min ? [] : [.integer(-number)]
            case .decimal(let number): return [.decimal(-number)]
            default: throw FHIRPathError("unary minus needs a number")
            }
        case .type(let op, let operand, let typeName):
            let items = try evaluate(operand, focus: focus, context: context)
            let matching = items.filter { isOfType($0, typeName) }
            if op == "as" { return matching }
            guard items.count <= 1 else { throw FHIRPathError("'is' needs a single item") }
            return items.isEmpty ? [] : Self.result(!matching.isEmpty)
        case .binary(let op, let left, let right):
            return try binary(op, left, right, focus: focus, context: context)
        }
    }

    // MARK: Navigation

    /// One navigation step (`.name`) over a collection: the name is resolved once per type met, not once
    /// per item (a step over the parts of a parameter meets one type many times).
    struct MemberStep {
        let name: String
        let isFirstStep: Bool
        /// The type last resolved, and what the name means in it.
        var typeIndex = -1
        var meaning = Meaning.none

        enum Meaning {
            case none
            /// A plain element: children matched by name, each of the one type.
            case plain(ElementType)
            /// A choice element (by index), all its types or (`valueString`) only the concrete one named.
            case choice(Int, concreteName: String?)
        }

        init(name: String, isFirstStep: Bool) {
            self.name = name
            self.isFirstStep = isFirstStep
        }
    }

    func children(of item: FHIRPathItem, named name: String, isFirstStep: Bool) -> [FHIRPathItem] {
        var step = MemberStep(name: name, isFirstStep: isFirstStep)
        var result: [FHIRPathItem] = []
        appendChildren(of: item, step: &step, to: &result)
        return result
    }

    /// Appends the children of `item` that `step` names, typed, in document order.
    func appendChildren(of item: FHIRPathItem, step: inout MemberStep, to result: inout [FHIRPathItem]) {
        guard case .node(let element, let nodeType) = item else { return }
        let typeIndex: Int
        switch nodeType {
        case .type(let index), .primitive(_, let index): typeIndex = index
        case .system: return
        }
        let name = step.name
        // `MedicationDispense.status`: the leading type name selects the resource itself.
        if step.isFirstStep, case .type = nodeType, definitions.types[typeIndex].kind == .resource,
            element.name == name || name == "Resource" || name == "DomainResource"
        {
            result.append(item)
            return
        }
        if typeIndex != step.typeIndex {
            step.typeIndex = typeIndex
            step.meaning = meaning(of: name, in: definitions.types[typeIndex])
        }
        switch step.meaning {
        case .none:
            return
        case .plain(let type):
            for child in element.children where child.name == name { append(child, as: type, to: &result) }
        case .choice(let elementIndex, let concreteName):
            let type = definitions.types[typeIndex]
            let stem = type.elements[elementIndex].name
            for child in element.children where child.name.hasPrefix(stem) {
                guard let resolved = type.resolve(child.name), resolved.index == elementIndex,
                    concreteName == nil || child.name == concreteName
                else { continue }
                append(child, as: resolved.type, to: &result)
            }
        }
    }

    /// What `name` means as a child of `type`. The name table knows every name a child can have: a plain
    /// element (one name, one type) or a choice's concrete name (`valueString`, which real invariants use
    /// and the HL7 engine accepts: only that type). A choice's stem (`value`) is in the stem table.
    private func meaning(of name: String, in type: TypeDefinition) -> MemberStep.Meaning {
        if let resolved = type.resolve(name) {
            return resolved.definition.isChoice ? .choice(resolved.index, concreteName: name) : .plain(resolved.type)
        }
        return type.choiceElementIndex(stem: name).map { .choice($0, concreteName: nil) } ?? .none
    }

    private func append(_ child: Element, as type: ElementType, to result: inout [FHIRPathItem]) {
        switch type {
        case .complex(let index): result.append(.node(child, .type(index)))
        case .primitive(let primitive, let index): result.append(.node(child, .primitive(primitive, index)))
        case .system: result.append(.node(child, .system))
        case .resource:
            if let inner = child.wrappedResource, let index = definitions.resourceIndex(inner.name) {
                result.append(.node(inner, .type(index)))
            }
        }
    }

    /// A node's primitive value as a System value; other items unchanged; `nil` for complex nodes and
    /// primitives that only carry extensions.
    func systemValue(_ item: FHIRPathItem) -> FHIRPathItem? {
        guard case .node(let element, let nodeType) = item else { return item }
        guard let value = element.value else { return nil }
        switch nodeType {
        case .system: return .string(value)
        case .type: return nil
        case .primitive(let primitive, _):
            switch primitive {
            case .boolean: return .boolean(value == "true")
            case .integer, .positiveInt, .unsignedInt: return Int(value).map(FHIRPathItem.integer)
            case .decimal: return Double(value).map(FHIRPathItem.decimal)
            case .date, .dateTime, .instant: return .date(value)
            default: return .string(value)
            }
        }
    }

    func isOfType(_ item: FHIRPathItem, _ typeName: String) -> Bool {
        let name = typeName.hasPrefix("FHIR.") ? String(typeName.dropFirst(5)) : typeName
        switch item {
        case .node(let element, .type(let index)):
            return definitions.types[index].name == name || (definitions.types[index].kind == .resource && element.name == name)
        case .node(_, .primitive(let primitive, _)): return primitive.rawValue == name
        case .node(_, .system), .string: return name == "System.String" || name == "String" || name == "string"
        case .boolean: return name == "System.Boolean" || name == "Boolean"
        case .integer: return name == "System.Integer" || name == "Integer"
        case .decimal: return name == "System.Decimal" || name == "Decimal"
        case .date: return name.hasPrefix("System.Date") || name == "Date" || name == "DateTime"
        }
    }

    // MARK: Values

    /// A one-boolean result. Every comparison, `exists()` and logical operator answers one, so the two
    /// are made once and shared: an array per answer cost an allocation, the most frequent one of an
    /// evaluation.
    static func result(_ value: Bool) -> [FHIRPathItem] {
        value ? trueResult : falseResult
    }

    private static let trueResult: [FHIRPathItem] = [.boolean(true)]
    private static let falseResult: [FHIRPathItem] = [.boolean(false)]

    /// The single boolean of a collection; `nil` when empty; an error when it is not one boolean.
    public static func boolean(_ items: [FHIRPathItem]) throws(FHIRPathError) -> Bool? {
        guard let first = items.first else { return nil }
        guard items.count == 1 else { throw FHIRPathError("expected a single boolean, got \(items.count) items") }
        switch first {
        case .boolean(let value): return value
        case .node(let element, .primitive(.boolean, _)): return element.value == "true"
        // A single non-boolean item is `true` in a boolean context (FHIRPath N1 §4.5).
        default: return true
        }
    }

    func string(_ item: FHIRPathItem) -> String? {
        switch systemValue(item) {
        case .string(let text)?, .date(let text)?: return text
        case .integer(let number)?: return String(number)
        case .decimal(let number)?:
            if case .node(let element, _) = item { return element.value }
            return String(number)
        case .boolean(let value)?: return value ? "true" : "false"
        default: return nil
        }
    }
}
