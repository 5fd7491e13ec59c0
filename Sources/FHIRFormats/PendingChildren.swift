import FHIRModel

/// The children of every open element of one read, on one shared stack: each element's children are
/// appended as they are read and taken off when the element closes, so a finished element allocates
/// its child array exactly once. Both readers build their trees through it.
struct PendingChildren {
    private(set) var elements: [Element] = []
    /// The definition index of each child, the sort key for definition order.
    private(set) var order: [Int] = []

    var count: Int { elements.count }

    mutating func append(_ element: Element, order index: Int) {
        elements.append(element)
        order.append(index)
    }

    subscript(index: Int) -> Element {
        get { elements[index] }
        set { elements[index] = newValue }
    }

    mutating func remove(at index: Int) {
        elements.remove(at: index)
        order.remove(at: index)
    }

    /// Removes the children appended since `start` and returns them in definition order, stably, so
    /// repeats keep their input order.
    mutating func take(from start: Int) -> [Element] {
        if start == elements.count { return [] }  // most elements are leaves
        var sorted = true
        for index in (start + 1)..<max(start + 1, order.count) where order[index] < order[index - 1] {
            sorted = false
            break
        }
        let children: [Element]
        if sorted {
            children = Array(elements[start...])
        } else {
            let order = self.order
            children = (start..<elements.count).sorted { (order[$0], $0) < (order[$1], $1) }.map { elements[$0] }
        }
        elements.removeSubrange(start...)
        order.removeSubrange(start...)
        return children
    }
}
