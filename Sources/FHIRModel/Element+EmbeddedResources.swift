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
    public func resolveReference(_ reference: String) -> Element? {
        func matches(_ resource: Element, fullURL: String?) -> Bool {
            if let fullURL, fullURL == reference { return true }
            guard let id = resource.value(of: "id") else { return false }
            return reference == "#\(id)" || reference == "urn:uuid:\(id)" || reference == "\(resource.name)/\(id)"
                || reference.hasSuffix("/\(resource.name)/\(id)")
        }
        func visit(_ resource: Element, fullURL: String?) -> Element? {
            if matches(resource, fullURL: fullURL) { return resource }
            for embedded in resource.embeddedResources {
                if let found = visit(embedded.resource, fullURL: embedded.fullURL) { return found }
            }
            return nil
        }
        return visit(self, fullURL: nil)
    }
}
