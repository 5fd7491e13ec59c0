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
        _ = visitEmbedded(withPaths: true) { resource, path, fullURL in
            result.append(EmbeddedResource(resource: resource, path: path, fullURL: fullURL))
            return nil
        }
        return result
    }

    /// Whether `predicate` holds for a resource one level inside this one (those of
    /// ``embeddedResources``); no paths are made, so it is the cheap way to ask before listing.
    public func containsEmbedded(where predicate: (Element) -> Bool) -> Bool {
        firstEmbedded { resource, _ in predicate(resource) ? resource : nil } != nil
    }

    /// Calls `body` with each resource one level inside this one, in the order of
    /// ``embeddedResources``; no paths are made.
    public func forEachEmbedded(_ body: (Element) -> Void) {
        _ = firstEmbedded { resource, _ in
            body(resource)
            return nil
        }
    }

    /// The first answer of `body` for the resources one level inside this one, in the order of
    /// ``embeddedResources``, with their `fullUrl`s; no paths are made.
    func firstEmbedded(where body: (Element, String?) -> Element?) -> Element? {
        visitEmbedded(withPaths: false) { resource, _, fullURL in body(resource, fullURL) }
    }

    /// The one walk over the embedded resources, in order, until `body` answers. Paths are built only
    /// `withPaths` (else empty): resolving references walks this for every reference of a body.
    private func visitEmbedded(withPaths: Bool, _ body: (Element, _ path: String, _ fullURL: String?) -> Element?) -> Element? {
        func parameters(_ holder: Element, path: String, name: String) -> Element? {
            var index = 0
            for parameter in holder.children where parameter.name == name {
                defer { index += 1 }
                let parameterPath = withPaths ? "\(path).\(name)[\(index)]" : ""
                if let inner = parameter.child("resource")?.wrappedResource,
                    let found = body(inner, withPaths ? "\(parameterPath).resource" : "", nil)
                {
                    return found
                }
                if let found = parameters(parameter, path: parameterPath, name: "part") { return found }
            }
            return nil
        }
        if let found = parameters(self, path: "", name: "parameter") { return found }
        for (index, entry) in children(named: "entry").enumerated() {
            if let inner = entry.child("resource")?.wrappedResource,
                let found = body(inner, withPaths ? ".entry[\(index)].resource" : "", entry.value(of: "fullUrl"))
            {
                return found
            }
        }
        for (index, contained) in children(named: "contained").enumerated() {
            if let inner = contained.wrappedResource, let found = body(inner, withPaths ? ".contained[\(index)]" : "", nil) {
                return found
            }
        }
        return nil
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
}
