extension Element {
    /// A resource held inside another: where it sits and, for a Bundle entry, its `fullUrl`.
    public struct EmbeddedResource: Sendable {
        public let resource: Element
        /// The FHIRPath of the resource below its holder's path (`.parameter[0].part[1].resource`).
        public let path: String
        public let fullURL: String?
    }

    /// The resources one level inside this one: `contained`, Bundle `entry.resource` and the `resource`
    /// of Parameters `parameter`s and their `part`s (at any depth of parts).
    public var embeddedResources: [EmbeddedResource] {
        var result: [EmbeddedResource] = []
        func parameters(_ holder: Element, path: String, name: String) {
            for (index, parameter) in holder.children(named: name).enumerated() {
                let parameterPath = "\(path).\(name)[\(index)]"
                if let inner = parameter.child("resource")?.wrappedResource {
                    result.append(EmbeddedResource(resource: inner, path: "\(parameterPath).resource", fullURL: nil))
                }
                parameters(parameter, path: parameterPath, name: "part")
            }
        }
        parameters(self, path: "", name: "parameter")
        for (index, entry) in children(named: "entry").enumerated() {
            if let inner = entry.child("resource")?.wrappedResource {
                result.append(EmbeddedResource(resource: inner, path: ".entry[\(index)].resource", fullURL: entry.value(of: "fullUrl")))
            }
        }
        for (index, contained) in children(named: "contained").enumerated() {
            if let inner = contained.wrappedResource {
                result.append(EmbeddedResource(resource: inner, path: ".contained[\(index)]", fullURL: nil))
            }
        }
        return result
    }

    /// The resource a `reference` names inside this one (itself included), depth first: `#id` for a
    /// contained resource, a Bundle `fullUrl`, `urn:uuid:<id>`, or `Type/id` (also at the end of an
    /// absolute URL). `nil` when nothing in the tree matches.
    ///
    /// The validator resolves every reference of every body, so this walk makes no strings and no lists:
    /// it compares bytes in place and visits the embedded resources where they sit.
    public func resolveReference(_ reference: String) -> Element? {
        func visit(_ resource: Element, fullURL: String?) -> Element? {
            if fullURL == reference || Self.reference(reference, names: resource) { return resource }
            return resource.firstEmbedded(where: visit)
        }
        return visit(self, fullURL: nil)
    }

    /// Whether `reference` is `#id`, `urn:uuid:id`, `Type/id` or ends in `/Type/id` for this resource.
    static func reference(_ reference: String, names resource: Element) -> Bool {
        guard let id = resource.value(of: "id") else { return false }
        let text = reference.utf8, idBytes = id.utf8
        guard text.count > idBytes.count, text.suffix(idBytes.count).elementsEqual(idBytes) else { return false }
        let head = text.prefix(text.count - idBytes.count)
        if head.elementsEqual("#".utf8) || head.elementsEqual("urn:uuid:".utf8) { return true }
        // `Type/` alone, or after a `/`.
        let type = resource.name.utf8
        guard head.count > type.count, head.last == UInt8(ascii: "/") else { return false }
        let typed = head.dropLast()
        guard typed.suffix(type.count).elementsEqual(type) else { return false }
        return typed.count == type.count || typed.dropLast(type.count).last == UInt8(ascii: "/")
    }

    /// The first answer of `body` for the resources one level inside this one, in the order of
    /// ``embeddedResources``, with their `fullUrl`s.
    func firstEmbedded(where body: (Element, String?) -> Element?) -> Element? {
        func parameters(_ holder: Element, name: String) -> Element? {
            for parameter in holder.children where parameter.name == name {
                if let inner = parameter.child("resource")?.wrappedResource, let found = body(inner, nil) { return found }
                if let found = parameters(parameter, name: "part") { return found }
            }
            return nil
        }
        if let found = parameters(self, name: "parameter") { return found }
        for entry in children where entry.name == "entry" {
            if let inner = entry.child("resource")?.wrappedResource, let found = body(inner, entry.value(of: "fullUrl")) { return found }
        }
        for contained in children where contained.name == "contained" {
            if let inner = contained.wrappedResource, let found = body(inner, nil) { return found }
        }
        return nil
    }
}
