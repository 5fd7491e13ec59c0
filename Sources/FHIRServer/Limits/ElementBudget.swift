public import FHIRModel

/// Counts a decoded body's elements against ``RequestLimits`` before anything validates it: the
/// validator's and the rules' cost grows with the number of elements and repeats, so a body that
/// no real pharmacy system sends is refused at the cost of one walk over its tree.
public enum ElementBudget {
    public enum Exceeded: Error, Sendable, Hashable {
        /// More elements in all than ``RequestLimits/maximumElements``.
        case tooManyElements(limit: Int)
        /// An element repeated more often in one parent than ``RequestLimits/maximumRepeats``; the
        /// FHIRPath of the parent and the element's name.
        case tooManyRepeats(expression: String, limit: Int)
    }

    public static func check(_ resource: Element, limits: RequestLimits) throws(Exceeded) {
        var remaining = limits.maximumElements
        try walk(resource, path: resource.name, remaining: &remaining, limits: limits)
    }

    /// Depth is bounded by the readers (128 levels), so recursion is safe here. Paths are built only
    /// to name an offender.
    private static func walk(_ element: Element, path: @autoclosure () -> String, remaining: inout Int,
                             limits: RequestLimits) throws(Exceeded) {
        remaining -= element.children.count
        guard remaining >= 0 else { throw .tooManyElements(limit: limits.maximumElements) }
        var run = 0
        var previous: String?
        for child in element.children {
            // Repeats of a name stand together in both formats (JSON arrays, XML's definition order).
            run = child.name == previous ? run + 1 : 1
            previous = child.name
            if run > limits.maximumRepeats {
                throw .tooManyRepeats(expression: "\(path()).\(child.name)", limit: limits.maximumRepeats)
            }
            guard !child.children.isEmpty else { continue }
            // A contained resource is named by its type in the tree, by its holder in FHIRPath.
            let isResource = child.name.utf8.first.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") } ?? false
            let position = run - 1
            try walk(child, path: isResource ? path() : "\(path()).\(child.name)[\(position)]", remaining: &remaining, limits: limits)
        }
    }
}
