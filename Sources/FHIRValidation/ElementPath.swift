/// Where an element sits, as the FHIRPath expression an issue names
/// (`Parameters.parameter[0].part[0].resource.identifier[0].system`), built only when an issue is
/// reported.
///
/// Every element of every validation has a path, and nearly none is ever printed. A path is a value:
/// its last step, and a link to its parent's path. The link is an object made once per element that
/// has children (``parentLink``), shared by all of them, so a leaf element (most of a resource)
/// costs no allocation at all; a class per element cost about a twentieth of a validation.
struct ElementPath: Sendable, CustomStringConvertible {
    private let parent: Link?
    let name: String
    /// The position among the siblings of this name, for a repeating element; `nil` otherwise.
    let position: Int?

    /// A parent's path, shared by its children.
    final class Link: Sendable {
        let path: ElementPath
        init(_ path: ElementPath) { self.path = path }
    }

    init(_ name: String) {
        parent = nil
        self.name = name
        position = nil
    }

    private init(parent: Link, name: String, position: Int?) {
        self.parent = parent
        self.name = name
        self.position = position
    }

    /// This path as the parent of children: make it once per element and hand it to each child.
    var parentLink: Link { Link(self) }

    /// The path of a child element: `name[position]` when it repeats, else `name`.
    func child(_ name: String, position: Int? = nil) -> ElementPath {
        ElementPath(parent: parentLink, name: name, position: position)
    }

    /// The path of a child of the element whose ``parentLink`` is `link`.
    static func child(of link: Link, _ name: String, position: Int?) -> ElementPath {
        ElementPath(parent: link, name: name, position: position)
    }

    var description: String {
        var segments: [ElementPath] = [self]
        var link = parent
        while let current = link {
            segments.append(current.path)
            link = current.path.parent
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
