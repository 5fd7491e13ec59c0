public import FHIRModel

/// Compact FHIR JSON of resources, written ahead of time so that a writer which must be quick (the
/// store's single writer, which holds every other write back while it works) copies it instead of
/// encoding again: ``FHIRJSONWriter/write(_:reusing:)`` copies the bytes of every resource, at any
/// depth, that is equal to one encoded here.
///
/// Equality, not identity, decides: a resource changed after it was encoded is encoded anew, so
/// reusing never changes what is written. The comparison is cheap where it is meant to be used: a
/// resource passed along unchanged shares its children's storage with the encoded one, and arrays
/// that share storage compare equal at once.
public struct EncodedResources: Sendable {
    /// Resources by type and id, so a lookup compares only the few that can be equal.
    private var entries: [Key: [Entry]] = [:]

    public init() {}

    /// Encodes each resource. One that cannot be encoded is left out: the writer meets it again
    /// and reports its error where it belongs.
    public init(_ resources: some Sequence<Element>, definitions: TypeDefinitions = R4CoreDefinitions.shared) {
        let writer = FHIRJSONWriter(definitions: definitions)
        for resource in resources {
            let key = Key(resource)
            guard !(entries[key]?.contains { $0.resource == resource } ?? false),
                  let json = try? writer.write(resource) else { continue }
            entries[key, default: []].append(Entry(resource: resource, json: json))
        }
    }

    /// Takes `json` as the encoding of `resource` without writing it: for tests that must tell
    /// copied bytes from written ones.
    init(unchecked pairs: [(resource: Element, json: [UInt8])]) {
        for (resource, json) in pairs { entries[Key(resource), default: []].append(Entry(resource: resource, json: json)) }
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// The compact JSON of `resource`, if it was encoded here.
    func json(for resource: Element) -> [UInt8]? {
        guard !entries.isEmpty, let candidates = entries[Key(resource)] else { return nil }
        return candidates.first { $0.resource == resource }?.json
    }

    private struct Key: Hashable {
        let type: String
        let id: String?

        init(_ resource: Element) {
            type = resource.name
            // Resource.id is the first child when present (the readers and the rules keep it there).
            id = resource.children.first.flatMap { $0.name == "id" ? $0.value : nil }
        }
    }

    private struct Entry {
        let resource: Element
        let json: [UInt8]
    }
}
