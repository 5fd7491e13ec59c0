public import FHIRModel

/// What one ElementDefinition of a StructureDefinition says about an element: the parts the validator
/// checks, read once from the definition's element tree. Text (short, definition, comment) is dropped.
public struct ElementConstraint: Sendable {
    /// `MedicationDispense.identifier:prescriptionID.system`: the path with slice names, unique in a snapshot.
    public var id: String
    /// `MedicationDispense.identifier.system`: the path without slice names.
    public var path: String
    public var sliceName: String?
    public var min: Int
    /// `nil` for `*`.
    public var max: Int?
    public var types: [TypeReference]
    /// `fixed[x]` and `pattern[x]` values, named as the definition names them (`fixedUri`, `patternCoding`).
    public var fixed: Element?
    public var pattern: Element?
    public var binding: Binding?
    public var invariants: [Invariant]
    public var slicing: Slicing?
    /// `#Parameters.parameter`: the element's children are those of another element of the same type.
    public var contentReference: String?

    public struct TypeReference: Sendable, Hashable {
        /// A type name (`Identifier`, `Reference`, `string`), or a FHIRPath system type for `id`/`url`.
        public var code: String
        public var profiles: [String]
        public var targetProfiles: [String]
    }

    public struct Binding: Sendable, Hashable {
        public enum Strength: String, Sendable { case required, extensible, preferred, example }
        public var strength: Strength
        public var valueSet: String?

        /// Whether codes are checked against it: a required (error) or extensible (warning) binding that
        /// names its value set; preferred and example bindings only advise.
        var isChecked: Bool { (strength == .required || strength == .extensible) && valueSet != nil }
    }

    public struct Invariant: Sendable, Hashable {
        public var key: String
        public var isError: Bool
        /// A best-practice recommendation (`dom-6`: "should have narrative"), not a conformance rule.
        public var isBestPractice: Bool
        public var human: String
        public var expression: String?
    }

    public struct Slicing: Sendable, Hashable {
        public enum Rules: String, Sendable { case open, closed, openAtEnd }
        public struct Discriminator: Sendable, Hashable {
            public enum Kind: String, Sendable { case value, pattern, type, profile, exists }
            public var kind: Kind
            public var path: String
        }
        public var discriminators: [Discriminator]
        public var rules: Rules
        public var ordered: Bool
    }

    /// The last segment of ``path`` (`value[x]`, `system`).
    public var name: Substring {
        path.lastIndex(of: ".").map { path[path.index(after: $0)...] } ?? path[...]
    }

    public var isChoice: Bool { path.hasSuffix("[x]") }

    /// The name as an expression uses it: `medication` for `medication[x]`.
    public var expressionName: Substring { isChoice ? name.dropLast(3) : name }
}

extension ElementConstraint {
    /// Reads an `ElementDefinition` element (from `snapshot` or `differential`); what a differential
    /// leaves out reads as the default (min 0, max `*`), which ``DifferentialElement`` tells apart.
    init(definition element: Element) {
        let path = element.value(of: "path") ?? ""
        let sliceName = element.value(of: "sliceName")
        id = element.value(of: "id") ?? (sliceName.map { "\(path):\($0)" } ?? path)
        self.path = path
        self.sliceName = sliceName
        min = element.value(of: "min").flatMap { Int($0) } ?? 0
        max = Self.maximum(element.value(of: "max"))
        types = element.children(named: "type").map { type in
            TypeReference(
                code: Self.typeCode(type),
                profiles: type.children(named: "profile").compactMap(\.value),
                targetProfiles: type.children(named: "targetProfile").compactMap(\.value))
        }
        fixed = element.children.first { $0.name.hasPrefix("fixed") }
        pattern = element.children.first { $0.name.hasPrefix("pattern") }
        binding = element.child("binding").flatMap { binding in
            binding.value(of: "strength").flatMap(Binding.Strength.init(rawValue:)).map {
                Binding(strength: $0, valueSet: binding.value(of: "valueSet"))
            }
        }
        invariants = element.children(named: "constraint").compactMap { constraint in
            guard let key = constraint.value(of: "key") else { return nil }
            let bestPractice = constraint.extensions("http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice")
                .contains { $0.value(of: "valueBoolean") == "true" }
            return Invariant(key: key, isError: constraint.value(of: "severity") != "warning", isBestPractice: bestPractice,
                             human: constraint.value(of: "human") ?? key, expression: constraint.value(of: "expression"))
        }
        slicing = element.child("slicing").map { slicing in
            Slicing(
                discriminators: slicing.children(named: "discriminator").compactMap { discriminator in
                    guard let kind = discriminator.value(of: "type").flatMap(Slicing.Discriminator.Kind.init(rawValue:)),
                        let path = discriminator.value(of: "path")
                    else { return nil }
                    return Slicing.Discriminator(kind: kind, path: path)
                },
                rules: slicing.value(of: "rules").flatMap(Slicing.Rules.init(rawValue:)) ?? .open,
                ordered: slicing.value(of: "ordered") == "true")
        }
        contentReference = element.value(of: "contentReference")
    }

    static func maximum(_ text: String?) -> Int? {
        guard let text, text != "*" else { return nil }
        return Int(text)
    }

    /// The type code; FHIRPath system types (`http://hl7.org/fhirpath/System.String`) carry the FHIR type
    /// they stand for in an extension, which is the name the instance tree uses.
    static func typeCode(_ type: Element) -> String {
        let code = type.value(of: "code") ?? ""
        guard code.hasPrefix("http://hl7.org/fhirpath/") else { return code }
        return type.extensions("http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type").first?
            .child("valueUrl")?.value ?? code
    }
}

/// A differential element: like ``ElementConstraint`` but remembering which properties it sets, so a
/// merge onto the base changes only those.
struct DifferentialElement: Sendable {
    var constraint: ElementConstraint
    var setsMin: Bool
    var setsMax: Bool

    init(_ element: Element) {
        constraint = ElementConstraint(definition: element)
        setsMin = element.child("min") != nil
        setsMax = element.child("max") != nil
    }

    /// Applies this differential to `base` (a snapshot element with the same id).
    func merge(into base: inout ElementConstraint) {
        if setsMin { base.min = constraint.min }
        if setsMax { base.max = constraint.max }
        if !constraint.types.isEmpty { base.types = constraint.types }
        if let fixed = constraint.fixed { base.fixed = fixed }
        if let pattern = constraint.pattern { base.pattern = pattern }
        if let binding = constraint.binding { base.binding = binding }
        if let slicing = constraint.slicing { base.slicing = slicing }
        if let sliceName = constraint.sliceName { base.sliceName = sliceName }
        for invariant in constraint.invariants where !base.invariants.contains(where: { $0.key == invariant.key }) {
            base.invariants.append(invariant)
        }
    }
}
