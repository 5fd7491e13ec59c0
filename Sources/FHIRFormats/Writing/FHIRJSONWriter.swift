public import FHIRModel

/// Writes the element tree as FHIR JSON: `resourceType` first, members in definition order, numbers and
/// booleans from their exact text, `_name` for primitives' ids and extensions.
public struct FHIRJSONWriter: Sendable {
    public var pretty: Bool
    public var definitions: TypeDefinitions

    public init(pretty: Bool = false, definitions: TypeDefinitions = R4CoreDefinitions.shared) {
        self.pretty = pretty
        self.definitions = definitions
    }

    public func write(_ resource: Element) throws(FHIRFormatError) -> [UInt8] {
        var writer = JSONTreeWriter(definitions: definitions, pretty: pretty)
        try writer.document(resource)
        return writer.output.bytes
    }

    /// Writes the document to `sink` in pieces of about `chunkBytes` (more where one value is longer),
    /// so a large document is never held whole. A failure can come after some pieces were handed on.
    public func write(_ resource: Element, chunkBytes: Int = 64 << 10, to sink: FHIRByteSink) throws(FHIRFormatError) {
        try withoutActuallyEscaping(sink) { (sink) throws(FHIRFormatError) in
            var writer = JSONTreeWriter(definitions: definitions, pretty: pretty,
                                        output: ByteOutput(sink: sink, flushBytes: chunkBytes))
            try writer.document(resource)
            try writer.output.flush()
        }
    }
}

struct JSONTreeWriter {
    let definitions: TypeDefinitions
    let pretty: Bool
    var output = ByteOutput(capacity: 16 * 1024)
    var path = PathStack()
    var groups = ChildGroups()

    mutating func document(_ resource: Element) throws(FHIRFormatError) {
        try self.resource(resource, indent: 0)
        if pretty { output.append(0x0A) }
    }

    mutating func resource(_ resource: Element, indent: Int) throws(FHIRFormatError) {
        guard let typeIndex = definitions.resourceIndex(resource.name) else {
            throw FHIRFormatError(OperationOutcome.Issue(code: .structure, text: "Unknown resource type '\(resource.name)'"))
        }
        let isRoot = path.isEmpty
        if isRoot { path.push(resource.name) }
        output.append(UInt8(ascii: "{"))
        if pretty { output.newline(indent: indent + 2) }
        output.append("\"resourceType\":")
        if pretty { output.append(0x20) }
        string(resource.name)
        try members(resource.children, typeIndex, indent: indent + 2, first: false)
        if pretty { output.newline(indent: indent) }
        output.append(UInt8(ascii: "}"))
        if isRoot { path.pop() }
        try output.flushIfFull()
    }

    mutating func object(_ children: [Element], _ typeIndex: Int, indent: Int) throws(FHIRFormatError) {
        output.append(UInt8(ascii: "{"))
        try members(children, typeIndex, indent: indent + 2, first: true)
        if pretty { output.newline(indent: indent) }
        output.append(UInt8(ascii: "}"))
        try output.flushIfFull()
    }

    private mutating func key(_ name: String, prefix: Bool = false, first: inout Bool, indent: Int) {
        if !first { output.append(UInt8(ascii: ",")) }
        first = false
        if pretty { output.newline(indent: indent) }
        output.append(UInt8(ascii: "\""))
        if prefix { output.append(UInt8(ascii: "_")) }
        output.append(raw: name)
        output.append("\":")
        if pretty { output.append(0x20) }
    }

    /// The members of an object. Children are read in place by index, never bound whole: binding
    /// an `Element` retains its name, value and children, and that reference counting was half of
    /// the time spent writing (measured on the store's writer, which writes every dispensation).
    private mutating func members(_ children: [Element], _ typeIndex: Int, indent: Int, first: Bool)
        throws(FHIRFormatError)
    {
        let type = definitions.types[typeIndex]
        let (range, ordered) = try groups.push(children, of: type, path: path)
        defer { groups.pop(to: range) }
        var first = first
        for groupIndex in range {
            let itemRange = groups[groupIndex].range
            let element = groups[groupIndex].element
            let repeating = element.definition.isRepeating
            path.push(element.name)
            defer { path.pop() }
            switch element.type {
            case .system, .primitive:
                let kind: PrimitiveType
                var extensionType = -1
                if case .primitive(let primitive, let typeIndex) = element.type {
                    kind = primitive
                    extensionType = typeIndex
                } else {
                    kind = .string
                }
                var hasValue = false
                var hasChildren = false
                for index in itemRange {
                    if ordered[index].value != nil { hasValue = true }
                    if !ordered[index].children.isEmpty { hasChildren = true }
                }
                if hasValue {
                    key(element.name, first: &first, indent: indent)
                    if repeating { output.append(UInt8(ascii: "[")) }
                    for index in itemRange {
                        if index > itemRange.lowerBound { output.append(UInt8(ascii: ",")) }
                        try value(ordered[index].value, kind, name: ordered[index].name)
                    }
                    if repeating { output.append(UInt8(ascii: "]")) }
                }
                if hasChildren {
                    guard extensionType >= 0 else {
                        throw FHIRFormatError(OperationOutcome.Issue(
                            code: .structure, text: "'\(element.name)' cannot have children", expression: [path.rendered]))
                    }
                    key(element.name, prefix: true, first: &first, indent: indent)
                    if repeating { output.append(UInt8(ascii: "[")) }
                    for index in itemRange {
                        if index > itemRange.lowerBound { output.append(UInt8(ascii: ",")) }
                        if ordered[index].children.isEmpty {
                            output.append("null")
                        } else {
                            try object(ordered[index].children, extensionType, indent: indent)
                        }
                    }
                    if repeating { output.append(UInt8(ascii: "]")) }
                }
            case .complex(let childType):
                key(element.name, first: &first, indent: indent)
                if repeating { output.append(UInt8(ascii: "[")) }
                for index in itemRange {
                    if index > itemRange.lowerBound { output.append(UInt8(ascii: ",")) }
                    try object(ordered[index].children, childType, indent: indent)
                }
                if repeating { output.append(UInt8(ascii: "]")) }
            case .resource:
                key(element.name, first: &first, indent: indent)
                if repeating { output.append(UInt8(ascii: "[")) }
                for index in itemRange {
                    if index > itemRange.lowerBound { output.append(UInt8(ascii: ",")) }
                    guard let inner = ordered[index].wrappedResource else {
                        throw FHIRFormatError(OperationOutcome.Issue(
                            code: .structure, text: "'\(element.name)' must hold exactly one resource", expression: [path.rendered]))
                    }
                    try resource(inner, indent: indent)
                }
                if repeating { output.append(UInt8(ascii: "]")) }
            }
        }
    }

    /// A primitive value; `null` for an array item that only has extensions.
    private mutating func value(_ text: String?, _ kind: PrimitiveType, name: String) throws(FHIRFormatError) {
        guard let text else {
            output.append("null")
            return
        }
        switch kind.jsonKind {
        case .string:
            string(text)
        case .number, .boolean:
            // Written bare, so it must be a valid literal or the output would not be JSON.
            guard kind.isValid(text) else {
                throw FHIRFormatError(OperationOutcome.Issue(
                    code: .value, text: "Invalid \(kind.rawValue) value for '\(name)'", expression: [path.rendered]))
            }
            output.append(raw: text)
        }
    }

    mutating func string(_ text: String) {
        output.append(UInt8(ascii: "\""))
        // In place where the text is contiguous UTF-8 (every string our readers make); a copy
        // made mutable for `withUTF8` would cost a retain and a release per value.
        if text.utf8.withContiguousStorageIfAvailable({ escaped($0) }) == nil {
            var text = text
            text.withUTF8 { escaped($0) }
        }
        output.append(UInt8(ascii: "\""))
    }

    private mutating func escaped(_ bytes: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            output.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            runStart = index + 1
            switch byte {
            case UInt8(ascii: "\""): output.append("\\\"")
            case UInt8(ascii: "\\"): output.append("\\\\")
            case 0x0A: output.append("\\n")
            case 0x0D: output.append("\\r")
            case 0x09: output.append("\\t")
            default:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                output.append("\\u00")
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0xF)])
            }
        }
        output.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
    }
}
