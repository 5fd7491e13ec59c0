/// Where an element sits, as the FHIRPath expression an issue names
/// (`Parameters.parameter[0].part[0].resource.identifier[0].system`), built only when an issue is
/// reported.
///
/// Every element of every validation has a path, and nearly none is ever printed: a link to the
/// parent's path costs one small allocation, where building the text for each element copied
/// its parent's text and formatted the index (about a tenth of a validation).
final class ElementPath: Sendable, CustomStringConvertible {
    let parent: ElementPath?
    let name: String
    /// The position among the siblings of this name, for a repeating element; `nil` otherwise.
    let position: Int?

    init(_ name: String) {
        parent = nil
        self.name = name
        position = nil
    }

    private init(parent: ElementPath, name: String, position: Int?) {
        self.parent = parent
        self.name = name
        self.position = position
    }

    /// The path of a child element: `name[position]` when it repeats, else `name`.
    func child(_ name: String, position: Int? = nil) -> ElementPath {
        ElementPath(parent: self, name: name, position: position)
    }

    var description: String {
        var segments: [ElementPath] = []
        var node: ElementPath? = self
        while let current = node {
            segments.append(current)
            node = current.parent
        }
        var text = ""
        for (offset, segment) in segments.reversed().enumerated() {
            if offset > 0 { text += "." }
            text += segment.name
            if let position = segment.position { text += "[\(position)]" }
        }
        return text
    }
}
