public import FHIRModel

/// Writes the element tree as FHIR XML: the root in the `http://hl7.org/fhir` namespace, elements in
/// definition order, primitives as `value` attributes, `id`/`url` as attributes, the narrative `div`
/// as the XHTML it holds.
public struct FHIRXMLWriter: Sendable {
    public var pretty: Bool
    public var definitions: TypeDefinitions

    public init(pretty: Bool = false, definitions: TypeDefinitions = R4CoreDefinitions.shared) {
        self.pretty = pretty
        self.definitions = definitions
    }

    public func write(_ resource: Element) throws(FHIRFormatError) -> [UInt8] {
        var writer = XMLTreeWriter(definitions: definitions, pretty: pretty)
        try writer.document(resource)
        return writer.output.bytes
    }

    /// Writes the document to `sink` in pieces of about `chunkBytes` (more where one value is longer),
    /// so a large document is never held whole. A failure can come after some pieces were handed on.
    public func write(_ resource: Element, chunkBytes: Int = 64 << 10, to sink: FHIRByteSink) throws(FHIRFormatError) {
        try withoutActuallyEscaping(sink) { (sink) throws(FHIRFormatError) in
            var writer = XMLTreeWriter(definitions: definitions, pretty: pretty,
                                       output: ByteOutput(sink: sink, flushBytes: chunkBytes))
            try writer.document(resource)
            try writer.output.flush()
        }
    }
}

struct XMLTreeWriter {
    let definitions: TypeDefinitions
    let pretty: Bool
    var output = ByteOutput(capacity: 16 * 1024)
    var path = PathStack()
    var groups = ChildGroups()

    mutating func document(_ resource: Element) throws(FHIRFormatError) {
        output.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        if pretty { output.append(0x0A) }
        try self.resource(resource, indent: 0, isRoot: true)
        if pretty { output.append(0x0A) }
    }

    mutating func resource(_ resource: Element, indent: Int, isRoot: Bool) throws(FHIRFormatError) {
        guard let typeIndex = definitions.resourceIndex(resource.name) else {
            throw FHIRFormatError(OperationOutcome.Issue(code: .structure, text: "Unknown resource type '\(resource.name)'"))
        }
        if isRoot { path.push(resource.name) }
        try element(resource.name, value: nil, children: resource.children, typeIndex: typeIndex, indent: indent,
                    namespace: isRoot)
        if isRoot { path.pop() }
    }

    private mutating func element(_ name: String, value: String?, children: [Element], typeIndex: Int, indent: Int,
                                  namespace: Bool = false) throws(FHIRFormatError) {
        output.append(UInt8(ascii: "<"))
        output.append(raw: name)
        if namespace { output.append(" xmlns=\"http://hl7.org/fhir\"") }
        let (range, ordered) = try groups.push(children, of: definitions.types[typeIndex], path: path)
        defer { groups.pop(to: range) }
        var hasContent = false
        for groupIndex in range {
            let group = groups[groupIndex]
            guard group.element.definition.isXMLAttribute else {
                hasContent = true
                continue
            }
            attribute(group.element.name, ordered[group.range.lowerBound].value ?? "")
        }
        if let value { attribute("value", value) }
        guard hasContent else {
            output.append("/>")
            return
        }
        output.append(UInt8(ascii: ">"))
        for groupIndex in range where !groups[groupIndex].element.definition.isXMLAttribute {
            let group = groups[groupIndex]
            let resolved = group.element
            path.push(resolved.name)
            defer { path.pop() }
            for item in ordered[group.range] {
                if pretty { output.newline(indent: indent + 2) }
                switch resolved.type {
                case .system:
                    throw FHIRFormatError(OperationOutcome.Issue(
                        code: .structure, text: "'\(resolved.name)' must be an attribute", expression: [path.rendered]))
                case .primitive(let primitive, let childType):
                    if primitive == .xhtml {
                        guard let xhtml = item.value else {
                            throw FHIRFormatError(OperationOutcome.Issue(
                                code: .required, text: "The narrative div has no content", expression: [path.rendered]))
                        }
                        output.append(raw: xhtml)
                        continue
                    }
                    if let text = item.value, !primitive.isValid(text) {
                        throw FHIRFormatError(OperationOutcome.Issue(
                            code: .value, text: "Invalid \(primitive.rawValue) value for '\(resolved.name)'",
                            expression: [path.rendered]))
                    }
                    try element(resolved.name, value: item.value, children: item.children, typeIndex: childType,
                                indent: indent + 2)
                case .complex(let childType):
                    try element(resolved.name, value: nil, children: item.children, typeIndex: childType, indent: indent + 2)
                case .resource:
                    guard let inner = item.wrappedResource else {
                        throw FHIRFormatError(OperationOutcome.Issue(
                            code: .structure, text: "'\(resolved.name)' must hold exactly one resource",
                            expression: [path.rendered]))
                    }
                    output.append(UInt8(ascii: "<"))
                    output.append(raw: resolved.name)
                    output.append(UInt8(ascii: ">"))
                    if pretty { output.newline(indent: indent + 4) }
                    try resource(inner, indent: indent + 4, isRoot: false)
                    if pretty { output.newline(indent: indent + 2) }
                    output.append("</")
                    output.append(raw: resolved.name)
                    output.append(UInt8(ascii: ">"))
                }
            }
        }
        if pretty { output.newline(indent: indent) }
        output.append("</")
        output.append(raw: name)
        output.append(UInt8(ascii: ">"))
        try output.flushIfFull()
    }

    /// An attribute, with `&`, `<`, `>`, `"` and the whitespace characters that attribute-value
    /// normalisation would otherwise turn into spaces written as references.
    private mutating func attribute(_ name: String, _ value: String) {
        output.append(UInt8(ascii: " "))
        output.append(raw: name)
        output.append("=\"")
        var value = value
        value.withUTF8 { bytes in
            var runStart = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                let replacement: StaticString
                switch byte {
                case UInt8(ascii: "&"): replacement = "&amp;"
                case UInt8(ascii: "<"): replacement = "&lt;"
                case UInt8(ascii: ">"): replacement = "&gt;"
                case UInt8(ascii: "\""): replacement = "&quot;"
                case 0x0A: replacement = "&#10;"
                case 0x0D: replacement = "&#13;"
                case 0x09: replacement = "&#9;"
                default: continue
                }
                output.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                output.append(replacement)
                runStart = index + 1
            }
            output.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
        output.append(UInt8(ascii: "\""))
    }
}
