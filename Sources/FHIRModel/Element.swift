/// One node of the format-neutral FHIR tree: the single lossless internal form of every resource.
///
/// The tree follows the XML infoset, because XML is the format with the stricter shape:
/// - a resource is an element named by its type (`MedicationDispense`);
/// - repeated elements are consecutive siblings of the same name (JSON arrays are split into them);
/// - a primitive keeps its value as the exact lexical text it was written with (`1.50`, `6.02E23`),
///   and its `id` and `extension` as children (JSON's `_name` objects);
/// - `id` of an element and `url` of an extension are children too: the type metadata knows they are
///   XML attributes;
/// - a choice element carries its concrete name (`valueQuantity`), the same in both formats;
/// - a contained resource is the one child of its `contained` (or `resource`) element;
/// - the narrative `div` holds its XHTML verbatim in `value`.
///
/// Children are kept in FHIR definition order, which is also the order both writers emit.
public struct Element: Sendable, Hashable {
    public var name: String
    /// The lexical value of a primitive, or the XHTML of a narrative `div`; `nil` for complex elements
    /// and for primitives that only carry an `id` or extensions.
    public var value: String?
    public var children: [Element]

    public init(name: String, value: String? = nil, children: [Element] = []) {
        self.name = name
        self.value = value
        self.children = children
    }

    /// The first child with this name.
    public func child(_ name: String) -> Element? {
        children.first { $0.name == name }
    }

    /// All children with this name, in order.
    public func children(named name: String) -> [Element] {
        children.filter { $0.name == name }
    }

    /// The value of the first child with this name.
    public func value(of name: String) -> String? {
        child(name)?.value
    }

    /// Follows a chain of child names, taking the first match at each step.
    public func descendant(_ names: String...) -> Element? {
        var node = self
        for name in names {
            guard let next = node.child(name) else { return nil }
            node = next
        }
        return node
    }

    /// For a `contained`/`resource` wrapper element, the resource inside it.
    public var wrappedResource: Element? {
        children.count == 1 ? children[0] : nil
    }

    /// Extensions of this element with the given URL.
    public func extensions(_ url: String) -> [Element] {
        children.filter { $0.name == "extension" && $0.value(of: "url") == url }
    }
}
