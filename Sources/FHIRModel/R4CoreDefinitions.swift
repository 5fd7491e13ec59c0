/// The FHIR R4 (4.0.1) type system: every resource, data type, backbone element and primitive, with
/// element order, cardinality and types. Both codecs are driven by it, so they handle any R4 resource.
///
/// The facts come from the generated table in `Generated/R4CoreDefinitions+Table.swift`; they are parsed
/// once, on first use.
public enum R4CoreDefinitions {
    public static let shared: TypeDefinitions = {
        do {
            return try TypeDefinitions(table: table)
        } catch {
            // The table is generated and checked by tests; a failure here is a build defect, not input.
            preconditionFailure("the generated R4 type table is inconsistent: \(error)")
        }
    }()
}

/// A set of type definitions, with lookups by type name and by resource name.
public struct TypeDefinitions: Sendable {
    public struct TableError: Error, CustomStringConvertible {
        public let description: String
    }

    public let types: [TypeDefinition]
    private let typeIndex: [String: Int]
    @usableFromInline let resourceNames: NameTable<Int>

    /// Parses the generated table format (see the generated file's header).
    public init(table: String) throws {
        struct Draft {
            var name: String
            var kind: TypeDefinition.Kind
            var primitive: PrimitiveType?
            var regex: String?
            var lines: [[Substring]] = []
        }
        var drafts: [Draft] = []
        // Split on UTF-8 bytes: splitting by Character made this start-up step cost ~0.1 s per process.
        for lineBytes in table.utf8.split(separator: 0x0A) {
            let line = Substring(lineBytes)
            let isPrimitive = lineBytes.first == UInt8(ascii: "P")
            let fields = lineBytes.split(separator: 0x20, maxSplits: isPrimitive ? 3 : Int.max).map { Substring($0) }
            guard let tag = fields.first, fields.count >= 2 else { throw TableError(description: "bad line: \(line)") }
            switch tag {
            case "P":
                guard let primitive = PrimitiveType(rawValue: String(fields[1])) else {
                    throw TableError(description: "unknown primitive type \(fields[1])")
                }
                drafts.append(Draft(name: String(fields[1]), kind: .primitive, primitive: primitive,
                                    regex: fields.count > 3 ? String(fields[3]) : nil))
            case "C": drafts.append(Draft(name: String(fields[1]), kind: .complex))
            case "R": drafts.append(Draft(name: String(fields[1]), kind: .resource))
            case "B": drafts.append(Draft(name: String(fields[1]), kind: .backbone))
            case "E":
                guard !drafts.isEmpty, fields.count >= 5 else { throw TableError(description: "bad element: \(line)") }
                drafts[drafts.count - 1].lines.append(Array(fields.dropFirst()))
            default:
                throw TableError(description: "bad line: \(line)")
            }
        }
        var typeIndex: [String: Int] = [:]
        for (index, draft) in drafts.enumerated() { typeIndex[draft.name] = index }
        // Primitive types get their `id` and `extension` from `Element`.
        let elementLines = drafts.first { $0.name == "Element" }?.lines ?? []

        let primitives = drafts.map(\.primitive)
        var types: [TypeDefinition] = []
        for draft in drafts {
            let lines = draft.kind == .primitive ? elementLines : draft.lines
            var elements: [ElementDefinition] = []
            var entries: [(key: String, value: ResolvedElement)] = []
            for fields in lines {
                let definition = try Self.element(fields, typeIndex: typeIndex, drafts: primitives)
                let index = elements.count
                elements.append(definition)
                if definition.isChoice {
                    for (type, typeName) in zip(definition.types, definition.typeNames) {
                        let name = definition.name + typeName.prefix(1).uppercased() + typeName.dropFirst()
                        entries.append((name, ResolvedElement(index: index, name: name, type: type, definition: definition)))
                    }
                } else {
                    entries.append((definition.name, ResolvedElement(index: index, name: definition.name,
                                                                     type: definition.types[0], definition: definition)))
                }
            }
            types.append(TypeDefinition(name: draft.name, kind: draft.kind, elements: elements,
                                        primitive: draft.primitive, valueRegex: draft.regex, names: NameTable(entries)))
        }
        self.types = types
        self.typeIndex = typeIndex
        let abstract: Set<String> = ["Resource", "DomainResource"]
        self.resourceNames = NameTable(types.enumerated()
            .filter { $0.element.kind == .resource && !abstract.contains($0.element.name) }
            .map { (key: $0.element.name, value: $0.offset) })
    }

    private static func element(_ fields: [Substring], typeIndex: [String: Int], drafts: [PrimitiveType?]) throws
        -> ElementDefinition
    {
        var name = String(fields[0])
        let isChoice = name.hasSuffix("[x]")
        if isChoice { name.removeLast(3) }
        guard let min = Int(fields[1]) else { throw TableError(description: "bad min in \(fields)") }
        let max = fields[2] == "*" ? nil : Int(fields[2])
        let typeNames = fields[3].utf8.split(separator: UInt8(ascii: ",")).map { String(Substring($0)) }
        let types = try typeNames.map { typeName -> ElementType in
            switch typeName {
            case "System.String": return .system
            case "Resource": return .resource
            default:
                guard let index = typeIndex[typeName] else { throw TableError(description: "unknown type \(typeName)") }
                if let primitive = drafts[index] { return .primitive(primitive, type: index) }
                return .complex(index)
            }
        }
        let flags = fields.dropFirst(4)
        return ElementDefinition(name: name, min: min, max: max, isChoice: isChoice, types: types, typeNames: typeNames,
                                 isXMLAttribute: flags.contains("attr"), isXHTML: typeNames == ["xhtml"])
    }

    /// A type by name: `MedicationDispense`, `Quantity`, `string`, `Bundle.entry`.
    public func type(named name: String) -> TypeDefinition? {
        typeIndex[name].map { types[$0] }
    }

    /// The index of a type by name.
    public func index(of name: String) -> Int? {
        typeIndex[name]
    }

    /// The index of a concrete (non-abstract) resource type, from its name's UTF-8 bytes.
    @inlinable
    public func resourceIndex(_ name: UnsafeBufferPointer<UInt8>) -> Int? {
        resourceNames.lookup(name)
    }

    /// The index of a concrete (non-abstract) resource type.
    public func resourceIndex(_ name: String) -> Int? {
        var name = name
        return name.withUTF8 { resourceNames.lookup($0) }
    }
}
