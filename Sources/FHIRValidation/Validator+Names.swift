public import FHIRModel
import FHIRPath

extension ProfileValidator {
    /// Whether two canonicals name the same URL, whatever their `|version`s; compares bytes in place
    /// (every resource of every validation asks, so no splitting into new strings).
    static func sameURL(_ left: String, _ right: String) -> Bool {
        let bar = UInt8(ascii: "|")
        // Native strings are contiguous: the URL parts are found and compared as bytes in place.
        let inPlace = left.utf8.withContiguousStorageIfAvailable { leftBytes in
            right.utf8.withContiguousStorageIfAvailable { rightBytes in
                let leftURL = leftBytes.prefix { $0 != bar }, rightURL = rightBytes.prefix { $0 != bar }
                return leftURL.count == rightURL.count && leftURL.elementsEqual(rightURL)
            }
        }
        if let answer = inPlace ?? nil { return answer }
        return left.utf8.prefix { $0 != bar }.elementsEqual(right.utf8.prefix { $0 != bar })
    }
}

extension FHIRPathItem.NodeType {
    init(_ type: ElementType) {
        switch type {
        case .system: self = .system
        case .primitive(let primitive, let index): self = .primitive(primitive, index)
        case .complex(let index): self = .type(index)
        case .resource: self = .system
        }
    }

    var index: Int? {
        switch self {
        case .type(let index), .primitive(_, let index): index
        case .system: nil
        }
    }
}

extension TypeDefinitions {
    /// The index of a resource type by name: by the byte table of concrete resource types (every
    /// resource of every validation asks), else by the general index.
    func resourceTypeIndex(_ name: String) -> Int? {
        resourceIndex(name) ?? index(of: name)
    }

    /// The FHIR type name of a node: `Identifier`, `string`; a backbone element counts as `BackboneElement`.
    func name(of type: FHIRPathItem.NodeType) -> String {
        switch type {
        case .system: return "string"
        case .primitive(let primitive, _): return primitive.rawValue
        case .type(let index):
            let definition = types[index]
            return definition.kind == .backbone ? "BackboneElement" : definition.name
        }
    }
}
