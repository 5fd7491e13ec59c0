import FHIRModel

/// Walks an element's children as the writers need them: resolved against the parent type, grouped by
/// name (a JSON array or a run of XML siblings), in definition order.
///
/// The groups of all open elements share one stack, so writing allocates nothing per element.
/// Trees from the readers are already in order; a tree built in code may not be, so an out-of-order
/// tree is sorted once (stable, so repeats keep their order) instead of producing duplicate keys.
struct ChildGroups {
    struct Group {
        var element: ResolvedElement
        var range: Range<Int>
    }

    private(set) var stack: [Group] = []

    /// Pushes the groups of `children`; returns where they are on the stack and the children in the
    /// order the ranges refer to. Pop with ``pop(to:)`` when the element is written.
    mutating func push(_ children: [Element], of type: TypeDefinition, path: PathStack) throws(FHIRFormatError)
        -> (groups: Range<Int>, children: [Element])
    {
        let base = stack.count
        var index = 0
        var lastIndex = -1
        var sorted = true
        while index < children.count {
            guard let element = type.resolve(children[index].name) else {
                stack.removeSubrange(base...)
                throw FHIRFormatError(OperationOutcome.Issue(
                    code: .structure, text: "Unknown element '\(children[index].name)' in \(type.name)", expression: [path.rendered]))
            }
            var end = index + 1
            while end < children.count && children[end].name == children[index].name { end += 1 }
            if element.index < lastIndex || (element.index == lastIndex && element.definition.isRepeating) { sorted = false }
            if element.index == lastIndex && !element.definition.isRepeating {
                stack.removeSubrange(base...)
                let message = element.definition.isChoice
                    ? "More than one value for '\(element.definition.name)[x]'" : "Element '\(element.name)' does not repeat"
                throw FHIRFormatError(OperationOutcome.Issue(code: .structure, text: message, expression: [path.rendered]))
            }
            if end - index > 1 && !element.definition.isRepeating {
                stack.removeSubrange(base...)
                throw FHIRFormatError(OperationOutcome.Issue(
                    code: .structure, text: "Element '\(element.name)' does not repeat", expression: [path.rendered]))
            }
            lastIndex = element.index
            stack.append(Group(element: element, range: index..<end))
            index = end
        }
        if sorted { return (base..<stack.count, children) }
        var order: [Int] = []
        for group in stack[base...] { order.append(contentsOf: repeatElement(group.element.index, count: group.range.count)) }
        stack.removeSubrange(base...)
        let reordered = children.indices.sorted { (order[$0], $0) < (order[$1], $1) }.map { children[$0] }
        return try push(reordered, of: type, path: path)
    }

    mutating func pop(to groups: Range<Int>) {
        stack.removeSubrange(groups.lowerBound...)
    }

    subscript(index: Int) -> Group { stack[index] }
}

/// A growing UTF-8 output buffer; with a sink, it hands its bytes on whenever it holds `flushBytes`,
/// so a document too large to hold twice is written as it is made.
struct ByteOutput {
    var bytes: [UInt8] = []
    /// Where full buffers go; `nil` keeps everything in `bytes` (the server's path).
    private var sink: FHIRByteSink?
    /// `Int.max` without a sink, so ``flushIfFull()`` is one comparison that never succeeds.
    private var flushBytes = Int.max

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    /// Streams to `sink` in pieces of about `flushBytes`.
    init(sink: @escaping FHIRByteSink, flushBytes: Int) {
        self.init(capacity: flushBytes + flushBytes / 4)
        self.sink = sink
        self.flushBytes = flushBytes
    }

    /// Called by the writers where an element ends: one value never straddles two pieces, and the
    /// check stays out of the per-byte appends.
    @inline(__always)
    mutating func flushIfFull() throws(FHIRFormatError) {
        if bytes.count >= flushBytes { try flush() }
    }

    /// Hands everything buffered to the sink (nothing without one).
    mutating func flush() throws(FHIRFormatError) {
        guard let sink, !bytes.isEmpty else { return }
        try bytes.withUnsafeBufferPointer { (buffer) throws(FHIRFormatError) in try sink(buffer) }
        bytes.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) { bytes.append(byte) }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func append(raw text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
            var text = text
            text.withUTF8 { bytes.append(contentsOf: $0) }
        }
    }

    mutating func newline(indent: Int) {
        bytes.append(0x0A)
        for _ in 0..<indent { bytes.append(0x20) }
    }
}
