public import FHIRModel
import CLibXML2

/// Reads FHIR XML into the element tree with libxml2's SAX2 interface, driven by the R4 type definitions.
///
/// Element order is checked against the definitions (XML order is significant), `value`, `id` and
/// `url` attributes become values and children, and the narrative `div` is kept as the exact bytes of
/// the input.
public struct FHIRXMLReader: Sendable {
    public var options: DecodingOptions

    public init(options: DecodingOptions = .strict) {
        self.options = options
    }

    public func read(_ bytes: [UInt8]) throws(FHIRFormatError) -> DecodedResource {
        try bytes.withUnsafeBufferPointer { (buffer) throws(FHIRFormatError) -> DecodedResource in try read(buffer) }
    }

    public func read(_ buffer: UnsafeRawBufferPointer) throws(FHIRFormatError) -> DecodedResource {
        try read(buffer.bindMemory(to: UInt8.self))
    }

    public func read(_ buffer: UnsafeBufferPointer<UInt8>) throws(FHIRFormatError) -> DecodedResource {
        try options.checkInputSize(buffer.count)
        let builder = XMLTreeBuilder(buffer, options: options)
        builder.parse(buffer)
        if let failure = builder.failure {
            throw FHIRFormatError(failure.issue(path: builder.path))
        }
        guard let resource = builder.result else {
            throw FHIRFormatError(OperationOutcome.Issue(code: .structure, text: "No FHIR resource in the document"))
        }
        return DecodedResource(resource: resource, warnings: builder.warnings)
    }
}

/// One open element: what it is, and where its children start on the shared stack.
struct XMLFrame {
    enum Kind { case object(typeIndex: Int), primitive(typeIndex: Int), resourceWrapper }
    var kind: Kind
    var name: String
    var value: String?
    var order: Int
    var childStart: Int
    var lastElementIndex = -1
    var runLength = 0
    /// False for a resource inside `contained`/`resource`: FHIRPath does not name its type.
    var pushedPath = true
    /// Non-repeating elements already read, so a repeat is caught even out of order (lenient mode).
    var seenOnce = ElementSet()
}

/// Builds the tree from SAX events. Its state is only touched from libxml2's callbacks on one thread,
/// inside one `parse`, so the properties opt out of dynamic exclusivity checks (measured: they were a
/// visible share of the per-element cost).
final class XMLTreeBuilder: SecureSAXSession {
    let input: UnsafeBufferPointer<UInt8>
    let definitions: TypeDefinitions
    let strict: Bool
    @exclusivity(unchecked) var path = PathStack()
    @exclusivity(unchecked) var warnings: [OperationOutcome.Issue] = []
    @exclusivity(unchecked) var frames: [XMLFrame] = []
    @exclusivity(unchecked) var pending = PendingChildren()
    @exclusivity(unchecked) var result: Element?
    /// > 0 while inside a skipped element (lenient mode).
    @exclusivity(unchecked) var skipDepth = 0
    /// > 0 while inside the narrative `div`, which is captured as raw bytes.
    @exclusivity(unchecked) var divDepth = 0
    @exclusivity(unchecked) var divStart = 0
    @exclusivity(unchecked) var divOrder = 0
    /// The namespace declaration the captured div lacks because it was made on an ancestor, if any.
    @exclusivity(unchecked) var divMissingDeclaration: String?
    /// The last namespace pointer libxml2 reported as the FHIR namespace: it hands the same pointer for
    /// every element under one declaration, so most checks are one comparison.
    @exclusivity(unchecked) var fhirNamespacePointer: UnsafePointer<UInt8>?

    func isFHIRNamespace(_ uri: UnsafePointer<UInt8>?) -> Bool {
        guard let uri else { return false }
        if uri == fhirNamespacePointer { return true }
        guard equals(uri, "http://hl7.org/fhir") else { return false }
        fhirNamespacePointer = uri
        return true
    }

    init(_ input: UnsafeBufferPointer<UInt8>, options: DecodingOptions) {
        self.input = input
        self.definitions = options.definitions
        self.strict = options.mode == .strict
        super.init(limits: options.limits)
    }

    override var currentExpression: String? { path.isEmpty ? nil : path.rendered }

    /// Reports a problem with a child that is not open yet, naming it in the path.
    func recover(_ code: OperationOutcome.IssueCode, _ message: String, at child: String) -> Bool {
        path.push(child)
        defer { path.pop() }
        return recover(code, message)
    }

    /// Strict: stop with the failure. Lenient: record a warning and go on.
    func recover(_ code: OperationOutcome.IssueCode, _ message: String) -> Bool {
        if strict {
            stop(code, message)
            return false
        }
        warnings.append(OperationOutcome.Issue(severity: .warning, code: code, text: message,
                                               expression: path.isEmpty ? [] : [path.rendered], line: line, column: column))
        return true
    }

    override func install(into handler: inout xmlSAXHandler) {
        // The builder outlives the parse (`parse` holds it), so the callbacks borrow it without retaining.
        handler.startElementNs = { context, localName, prefix, uri, namespaceCount, namespaces, attributeCount, _, attributes in
            Unmanaged<XMLTreeBuilder>.fromOpaque(context!)._withUnsafeGuaranteedRef {
                $0.startElement(localName!, prefix, uri, namespaceCount: Int(namespaceCount), namespaces: namespaces,
                                attributeCount: Int(attributeCount), attributes: attributes)
            }
        }
        handler.endElementNs = { context, _, _, _ in
            Unmanaged<XMLTreeBuilder>.fromOpaque(context!)._withUnsafeGuaranteedRef { $0.endElement() }
        }
        handler.characters = { context, characters, length in
            Unmanaged<XMLTreeBuilder>.fromOpaque(context!).takeUnretainedValue().text(characters, Int(length))
        }
        handler.ignorableWhitespace = handler.characters
        handler.cdataBlock = { context, characters, length in
            let builder = Unmanaged<XMLTreeBuilder>.fromOpaque(context!).takeUnretainedValue()
            guard builder.divDepth == 0, builder.skipDepth == 0 else { return }
            _ = builder.recover(.structure, "CDATA is only allowed inside the narrative div")
        }
    }

    func text(_ characters: UnsafePointer<UInt8>?, _ length: Int) {
        guard divDepth == 0, skipDepth == 0, let characters else { return }
        for index in 0..<length {
            let byte = characters[index]
            if byte != 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0D {
                _ = recover(.structure, "Text content is not allowed in FHIR elements (values go in the value attribute)")
                return
            }
        }
    }

    /// A `value`, `id` or `url` attribute value, with `&#38;` turned back into `&`.
    func attributeValue(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, hasAmpersand: Bool? = nil) -> String? {
        let bytes = UnsafeBufferPointer(start: start, count: end - start)
        let value = hasAmpersand ?? bytes.contains(UInt8(ascii: "&"))
            ? decodeAttribute(bytes) : String(decoding: bytes, as: UTF8.self)
        // Measured after decoding, as the JSON reader measures its strings.
        guard value.utf8.count <= limits.maxStringBytes else {
            stop(.tooLong, "Attribute value of \(value.utf8.count) bytes exceeds the limit of \(limits.maxStringBytes)")
            return nil
        }
        return value
    }

    private func decodeAttribute(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        // libxml2 has already refused malformed UTF-8 in the input, so decoding cannot repair anything here.
        guard bytes.contains(UInt8(ascii: "&")) else { return String(decoding: bytes, as: UTF8.self) }
        // Without entity substitution, libxml2's SAX2 hands every `&` of an attribute value over as `&#38;`
        // (and decodes all other references); no other `&` can occur, so this restores the value exactly.
        let reference = Array("&#38;".utf8)
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "&"), index + 5 <= bytes.count,
                bytes[index..<index + 5].elementsEqual(reference)
            {
                decoded.append(UInt8(ascii: "&"))
                index += 5
            } else {
                decoded.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: decoded, as: UTF8.self)
    }
}
