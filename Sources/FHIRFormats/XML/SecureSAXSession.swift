import CLibXML2
import FHIRModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let fhirNamespace = "http://hl7.org/fhir"
let xhtmlNamespace = "http://www.w3.org/1999/xhtml"

/// One libxml2 SAX2 parse with everything dangerous switched off.
///
/// - No DTD: the `internalSubset`/`externalSubset` callbacks stop the parser at `<!DOCTYPE`, before any
///   entity can be declared, so XXE and entity-expansion ("billion laughs") inputs fail at once.
/// - No network (`XML_PARSE_NONET`), no entity substitution, no external subset loading, no validation.
/// - Only UTF-8 input: the readers work on byte offsets into the caller's buffer.
///
/// Subclasses receive the element events; errors from callbacks are recorded and stop the parser,
/// because C callbacks cannot throw.
class SecureSAXSession {
    @exclusivity(unchecked) var context: xmlParserCtxtPtr?
    @exclusivity(unchecked) var failure: ReadFailure?
    let limits: DecodingOptions.Limits

    init(limits: DecodingOptions.Limits) {
        self.limits = limits
    }

    /// Called from callbacks: keeps the first failure and stops the parse.
    func stop(_ code: OperationOutcome.IssueCode, _ message: String) {
        guard failure == nil else { return }
        failure = ReadFailure(code: code, message: message, line: line, column: column, expression: currentExpression)
        if let context { xmlStopParser(context) }
    }

    /// The FHIRPath of the element being read, for subclasses that track one.
    var currentExpression: String? { nil }

    var line: Int? { context.map { Int(xmlSAX2GetLineNumber($0)) } }
    var column: Int? { context.map { Int(xmlSAX2GetColumnNumber($0)) } }

    /// The byte offset of libxml2's cursor in the input.
    var byteOffset: Int { context.map { Int(xmlByteConsumed($0)) } ?? 0 }

    /// Fills in the element callbacks of the handler.
    func install(into handler: inout xmlSAXHandler) {}

    /// Parses `buffer`; afterwards `failure` says whether it worked.
    func parse(_ buffer: UnsafeBufferPointer<UInt8>) {
        SecureSAXSession.initialize
        if let problem = Self.encodingProblem(buffer) {
            failure = ReadFailure(code: .structure, message: problem, line: 1, column: 1)
            return
        }
        // XML 1.0 allows no NUL character anywhere; libxml2 takes one as the end of the input, so
        // without this check a document followed by a NUL and anything at all would be accepted.
        if let nul = buffer.firstIndex(of: 0) {
            let before = buffer[..<nul]
            let line = before.count { $0 == 0x0A } + 1
            let column = nul - (before.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0) + 1
            failure = ReadFailure(code: .structure, message: "XML must not contain a NUL character", line: line, column: column)
            return
        }
        guard buffer.count < Int(Int32.max), let base = buffer.baseAddress,
            let context = base.withMemoryRebound(to: CChar.self, capacity: buffer.count, {
                xmlCreateMemoryParserCtxt($0, Int32(buffer.count))
            })
        else {
            failure = ReadFailure(code: .structure, message: "Empty or unreadable XML input", line: 1, column: 1)
            return
        }
        self.context = context
        var handler = xmlSAXHandler()
        handler.initialized = UInt32(XML_SAX2_MAGIC)
        handler.internalSubset = { context, _, _, _ in
            session(context).stop(.security, "DTDs are not allowed in FHIR XML")
        }
        handler.externalSubset = { context, _, _, _ in
            session(context).stop(.security, "DTDs are not allowed in FHIR XML")
        }
        handler.entityDecl = { context, _, _, _, _, _ in
            session(context).stop(.security, "Entity declarations are not allowed in FHIR XML")
        }
        handler.serror = { userData, error in
            guard let userData, let error else { return }
            let session = Unmanaged<SecureSAXSession>.fromOpaque(userData).takeUnretainedValue()
            guard session.failure == nil, error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
            // libxml2's first line names the problem (and at most element names); later lines may
            // quote input bytes ("Bytes: 0x…"), which an answer must not carry.
            let full = error.pointee.message.map { String(cString: $0) } ?? "malformed XML"
            var message = String(full.prefix { $0 != "\n" }.prefix(160))
            while message.last?.isWhitespace == true { message.removeLast() }
            session.failure = ReadFailure(code: .structure, message: "Malformed XML: \(message)",
                                          line: Int(error.pointee.line), column: Int(error.pointee.int2),
                                          expression: session.currentExpression)
        }
        install(into: &handler)
        let originalHandler = context.pointee.sax
        withUnsafeMutablePointer(to: &handler) { handlerPointer in
            context.pointee.sax = handlerPointer
            context.pointee.userData = Unmanaged.passUnretained(self).toOpaque()
            // libxml2 refuses a text or attribute value over 10 MB (XML_MAX_TEXT_LENGTH) unless told the
            // input may be huge; only limits above that (a local file's) say so, the server's stay below.
            let huge = limits.maxStringBytes > Int(XML_MAX_TEXT_LENGTH) ? XML_PARSE_HUGE.rawValue : 0
            _ = xmlCtxtUseOptions(context, Int32(XML_PARSE_NONET.rawValue | XML_PARSE_IGNORE_ENC.rawValue | huge))
            context.pointee.replaceEntities = 0
            context.pointee.loadsubset = 0
            context.pointee.validate = 0
            _ = xmlParseDocument(context)
            if failure == nil && context.pointee.wellFormed == 0 {
                failure = ReadFailure(code: .structure, message: "Malformed XML", line: line, column: column)
            }
            context.pointee.sax = originalHandler
        }
        self.context = nil
        xmlFreeParserCtxt(context)
    }

    private static let initialize: Void = { xmlInitParser() }()

    /// FHIR XML is UTF-8. The readers capture the narrative by byte offsets into the caller's buffer, which
    /// are only right while libxml2 reads the bytes as they are, so anything that could make it transcode
    /// is refused here: a UTF-16/UCS-4 byte order mark or layout (NUL bytes up front), content that does not
    /// start with `<` or whitespace, and a declared encoding other than UTF-8. `XML_PARSE_IGNORE_ENC`
    /// additionally keeps a declaration this check did not see from switching encodings.
    static func encodingProblem(_ buffer: UnsafeBufferPointer<UInt8>) -> String? {
        var bytes = Array(buffer.prefix(4096))
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        guard let first = bytes.first else { return nil }
        guard first == UInt8(ascii: "<") || first == 0x20 || first == 0x09 || first == 0x0A || first == 0x0D,
            !bytes.prefix(4).contains(0)
        else {
            return "FHIR XML must be UTF-8 and start with '<'"
        }
        guard bytes.starts(with: Array("<?xml".utf8)), let close = bytes.firstIndex(of: UInt8(ascii: ">")) else {
            return nil
        }
        let declaration = String(decoding: bytes[..<close], as: UTF8.self)
        guard let encoding = declaration.firstRange(of: "encoding") else { return nil }
        let quotes: Set<Character> = ["\"", "'"]
        let rest = declaration[encoding.upperBound...].drop { $0 == " " || $0 == "=" || quotes.contains($0) }
        let name = String(rest.prefix { !quotes.contains($0) }).lowercased()
        return name == "utf-8" || name == "utf8" ? nil : "FHIR XML must be UTF-8; the document declares another encoding"
    }
}

@inline(__always)
func session(_ context: UnsafeMutableRawPointer?) -> SecureSAXSession {
    Unmanaged<SecureSAXSession>.fromOpaque(context!).takeUnretainedValue()
}

/// Reads a NUL-terminated libxml2 string without copying when comparing.
@inline(__always)
func xmlBytes(_ pointer: UnsafePointer<xmlChar>) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(start: pointer, count: strlen(UnsafeRawPointer(pointer).assumingMemoryBound(to: CChar.self)))
}

@inline(__always)
func equals(_ pointer: UnsafePointer<xmlChar>?, _ literal: StaticString) -> Bool {
    guard let pointer else { return false }
    return literal.withUTF8Buffer { expected in
        for index in 0..<expected.count where pointer[index] != expected[index] { return false }
        return pointer[expected.count] == 0
    }
}
