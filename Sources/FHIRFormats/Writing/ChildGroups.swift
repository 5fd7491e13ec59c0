import FHIRModel

/// Walks an element's children as the writers need them: resolved against the parent type, grouped by
/// name (a JSON array or a run of XML siblings), in definition order.
///
/// Trees from the readers are already in order; a tree built in code may not be, so an out-of-order
/// tree is sorted once (stable, so repeats keep their order) instead of producing duplicate keys.
struct ChildGroups {
    struct Group {
        var element: ResolvedElement
        var range: Range<Int>
    }

    let children: [Element]
    let groups: [Group]

    init(_ children: [Element], of type: TypeDefinition, path: PathStack) throws(FHIRFormatError) {
        var groups: [Group] = []
        var sorted = true
        var index = 0
        var lastIndex = -1
        while index < children.count {
            guard let element = type.resolve(children[index].name) else {
                throw FHIRFormatError(OperationOutcome.Issue(
                    code: .structure, text: "Unknown element '\(children[index].name)' in \(type.name)", expression: [path.rendered]))
            }
            var end = index + 1
            while end < children.count && children[end].name == children[index].name { end += 1 }
            if element.index <= lastIndex { sorted = false }
            lastIndex = element.index
            groups.append(Group(element: element, range: index..<end))
            index = end
        }
        if sorted {
            self.children = children
            self.groups = groups
        } else {
            var order: [Int] = []
            for group in groups { order.append(contentsOf: repeatElement(group.element.index, count: group.range.count)) }
            let reordered = children.indices.sorted { (order[$0], $0) < (order[$1], $1) }.map { children[$0] }
            self = try ChildGroups(reordered, of: type, path: path)
            return
        }
        for group in groups where group.range.count > 1 && !group.element.definition.isRepeating {
            throw FHIRFormatError(OperationOutcome.Issue(
                code: .structure, text: "Element '\(group.element.name)' does not repeat", expression: [path.rendered]))
        }
        var choices = Set<Int>()
        for group in groups where group.element.definition.isChoice {
            guard choices.insert(group.element.index).inserted else {
                throw FHIRFormatError(OperationOutcome.Issue(
                    code: .structure, text: "More than one value for '\(group.element.definition.name)[x]'", expression: [path.rendered]))
            }
        }
    }
}

/// A growing UTF-8 output buffer.
struct ByteOutput {
    var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) { bytes.append(byte) }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func append(raw text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func newline(indent: Int) {
        bytes.append(0x0A)
        for _ in 0..<indent { bytes.append(0x20) }
    }
}
