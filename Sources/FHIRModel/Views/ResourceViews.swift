/// Typed read access to the resources the dispensing domain reads, over the element tree.
///
/// Views do not copy or convert: they hold the tree and answer the few questions the domain asks,
/// so the tree stays the one lossless form that is stored and written back.

/// An `Identifier` (system and value).
public struct IdentifierValue: Sendable, Hashable {
    public var system: String?
    public var value: String?

    public init(system: String?, value: String?) {
        self.system = system
        self.value = value
    }

    init(_ element: Element) {
        self.init(system: element.value(of: "system"), value: element.value(of: "value"))
    }
}

/// A view of a resource tree of one type; `nil` when the tree is another resource.
public protocol ResourceView: Sendable {
    static var resourceType: String { get }
    var element: Element { get }
    init(unchecked element: Element)
}

extension ResourceView {
    public init?(_ element: Element) {
        guard element.name == Self.resourceType else { return nil }
        self.init(unchecked: element)
    }

    public var id: String? { element.value(of: "id") }
    public var profiles: [String] { element.child("meta")?.children(named: "profile").compactMap(\.value) ?? [] }
    public var identifiers: [IdentifierValue] { element.children(named: "identifier").map(IdentifierValue.init) }

    /// The value of the first identifier with this system.
    public func identifier(system: String) -> String? {
        identifiers.first { $0.system == system }?.value
    }
}

public struct MedicationDispenseView: ResourceView {
    public static let resourceType = "MedicationDispense"
    public let element: Element
    public init(unchecked element: Element) { self.element = element }

    public var status: String? { element.value(of: "status") }
    /// `subject.identifier` (the KVNR in the gematik profiles).
    public var subjectIdentifier: IdentifierValue? { element.descendant("subject", "identifier").map(IdentifierValue.init) }
    /// `performer.actor.identifier` of each performer (the Telematik-ID in the gematik profiles).
    public var performerIdentifiers: [IdentifierValue] {
        element.children(named: "performer").compactMap { $0.descendant("actor", "identifier").map(IdentifierValue.init) }
    }
    public var medicationReference: String? { element.descendant("medicationReference", "reference")?.value }
    public var whenPrepared: String? { element.value(of: "whenPrepared") }
    public var whenHandedOver: String? { element.value(of: "whenHandedOver") }
    /// `quantity.value` as written (decimal text).
    public var quantityValue: String? { element.descendant("quantity", "value")?.value }
    public var contained: [Element] { element.children(named: "contained").compactMap(\.wrappedResource) }
}

public struct MedicationView: ResourceView {
    public static let resourceType = "Medication"
    public let element: Element
    public init(unchecked element: Element) { self.element = element }

    public var codings: [(system: String?, code: String?)] {
        element.child("code")?.children(named: "coding").map { ($0.value(of: "system"), $0.value(of: "code")) } ?? []
    }
    public var codeText: String? { element.descendant("code", "text")?.value }
    public var lotNumber: String? { element.descendant("batch", "lotNumber")?.value }
    /// `batch.expirationDate`, a FHIR dateTime.
    public var expirationDate: String? { element.descendant("batch", "expirationDate")?.value }
}

public struct TaskView: ResourceView {
    public static let resourceType = "Task"
    public let element: Element
    public init(unchecked element: Element) { self.element = element }

    public var status: String? { element.value(of: "status") }
    public var forIdentifier: IdentifierValue? { element.descendant("for", "identifier").map(IdentifierValue.init) }
    public var ownerIdentifier: IdentifierValue? { element.descendant("owner", "identifier").map(IdentifierValue.init) }
    public var authoredOn: String? { element.value(of: "authoredOn") }
    public var lastModified: String? { element.value(of: "lastModified") }
    /// The flow type code from the `PrescriptionType` extension (160, 169, 200, 209, …).
    public var flowType: String? {
        element.children(named: "extension").lazy
            .first { $0.value(of: "url")?.hasSuffix("PrescriptionType") == true }?
            .child("valueCoding")?.value(of: "code")
    }
}

public struct ParametersView: ResourceView {
    public static let resourceType = "Parameters"
    public let element: Element
    public init(unchecked element: Element) { self.element = element }

    public struct Parameter: Sendable {
        public let element: Element
        public var name: String? { element.value(of: "name") }
        /// The resource of a `resource` parameter or part.
        public var resource: Element? { element.child("resource")?.wrappedResource }
        public var parts: [Parameter] { element.children(named: "part").map(Parameter.init) }
        /// The first part with this name.
        public func part(_ name: String) -> Parameter? { parts.first { $0.name == name } }
        /// The `value[x]` element, whatever its type.
        public var value: Element? { element.children.first { $0.name.hasPrefix("value") } }
    }

    public var parameters: [Parameter] { element.children(named: "parameter").map(Parameter.init) }
    public func parameters(named name: String) -> [Parameter] { parameters.filter { $0.name == name } }
}

public struct BundleView: ResourceView {
    public static let resourceType = "Bundle"
    public let element: Element
    public init(unchecked element: Element) { self.element = element }

    public struct Entry: Sendable {
        public let element: Element
        public var fullURL: String? { element.value(of: "fullUrl") }
        public var resource: Element? { element.child("resource")?.wrappedResource }
        public var searchMode: String? { element.descendant("search", "mode")?.value }
    }

    public var type: String? { element.value(of: "type") }
    public var total: String? { element.value(of: "total") }
    public var entries: [Entry] { element.children(named: "entry").map(Entry.init) }
    public var nextLink: String? {
        element.children(named: "link").first { $0.value(of: "relation") == "next" }?.value(of: "url")
    }
}
