/// What an element holds.
public enum ElementType: Sendable, Hashable {
    /// A FHIRPath `System.String`: the `id` of an element, the `url` of an extension. No `_name`, no extensions.
    case system
    /// A FHIR primitive; `type` indexes the primitive's own definition (its `id` and `extension`).
    case primitive(PrimitiveType, type: Int)
    /// A complex type or a backbone element, by index into ``TypeDefinitions/types``.
    case complex(Int)
    /// Any resource (`contained`, `Bundle.entry.resource`, `Parameters.parameter.resource`).
    case resource
}

/// One element of a type, in definition order.
///
/// A class, like ``TypeDefinition``: the readers pass definitions around for every element they read,
/// and a reference costs one retain where a struct of arrays and strings costs several.
public final class ElementDefinition: Sendable {
    /// The element name; for a choice `value[x]` this is `value`.
    public let name: String
    public let min: Int
    /// `nil` for `*`.
    public let max: Int?
    public let isChoice: Bool
    /// The allowed types; one unless the element is a choice.
    public let types: [ElementType]
    /// The type names as the definition spells them, parallel to ``types``.
    public let typeNames: [String]
    /// Written as an XML attribute (`id`, `url`, primitive values).
    public let isXMLAttribute: Bool
    /// The narrative `div`, written as XHTML.
    public let isXHTML: Bool

    public let isRepeating: Bool

    init(name: String, min: Int, max: Int?, isChoice: Bool, types: [ElementType], typeNames: [String],
         isXMLAttribute: Bool, isXHTML: Bool) {
        self.name = name
        self.min = min
        self.max = max
        self.isChoice = isChoice
        self.types = types
        self.typeNames = typeNames
        self.isXMLAttribute = isXMLAttribute
        self.isXHTML = isXHTML
        self.isRepeating = max != 1
    }
}

/// A resolved child name: which element of the parent it is, and with which concrete type.
public struct ResolvedElement: Sendable {
    /// Index into the parent type's ``TypeDefinition/elements``; the sort key for definition order.
    public let index: Int
    /// The concrete name (`valueQuantity` for `value[x]`), the same `String` the tree uses.
    public let name: String
    public let type: ElementType
    public let definition: ElementDefinition
}

/// A resource, complex type, backbone element or primitive, with its elements in definition order.
public final class TypeDefinition: Sendable {
    public enum Kind: Sendable { case primitive, complex, resource, backbone }

    public let name: String
    public let kind: Kind
    public let elements: [ElementDefinition]
    /// For primitive types: which one.
    public let primitive: PrimitiveType?
    /// For primitive types: the R4 regular expression of the value, where the definition gives one.
    public let valueRegex: String?
    @usableFromInline let names: NameTable<ResolvedElement>
    /// The choice elements by their stem (`value` for `value[x]`), which ``names`` does not hold.
    private let choiceStems: [String: Int]

    init(name: String, kind: Kind, elements: [ElementDefinition], primitive: PrimitiveType?, valueRegex: String?,
         names: NameTable<ResolvedElement>) {
        self.name = name
        self.kind = kind
        self.elements = elements
        self.primitive = primitive
        self.valueRegex = valueRegex
        self.names = names
        var stems: [String: Int] = [:]
        for (index, element) in elements.enumerated() where element.isChoice { stems[element.name] = index }
        choiceStems = stems
    }

    /// The index in ``elements`` of the choice element with this stem (`medication` for `medication[x]`).
    public func choiceElementIndex(stem: String) -> Int? {
        choiceStems.isEmpty ? nil : choiceStems[stem]
    }

    /// Resolves a child by its concrete name, from UTF-8 bytes (the readers' path: no `String` is made).
    @inlinable
    public func resolve(_ name: UnsafeBufferPointer<UInt8>) -> ResolvedElement? {
        names.lookup(name)
    }

    /// Resolves a child by its concrete name (the bytes in place where the string is contiguous, as the
    /// tree's names are).
    @inlinable
    public func resolve(_ name: String) -> ResolvedElement? {
        if let found = name.utf8.withContiguousStorageIfAvailable({ names.lookup($0) }) { return found }
        var name = name
        return name.withUTF8 { names.lookup($0) }
    }
}
