import CLibXML2
import FHIRModel

/// Checks narrative XHTML that arrives as a JSON string before it is written raw into XML.
///
/// It must be well-formed XML whose root is `div` in the XHTML namespace; it is parsed with the same
/// secure settings as FHIR XML (no DTD, no entities, no network).
enum XHTMLFragment {
    static func problem(in text: String) -> String? {
        var bytes = Array(text.utf8)
        // Nothing may stand around the root: the XML writer puts the string inside a FHIR document.
        guard bytes.first == UInt8(ascii: "<"), bytes.count > 1, bytes[1] != UInt8(ascii: "?"), bytes[1] != UInt8(ascii: "!"),
            bytes.last == UInt8(ascii: ">")
        else { return "the narrative must be a single div element, with nothing before or after it" }
        let check = RootCheck(limits: DecodingOptions.Limits())
        bytes.withUnsafeMutableBufferPointer { check.parse(UnsafeBufferPointer($0)) }
        if let failure = check.failure { return failure.message }
        guard check.rootIsXHTMLDiv else { return "the root element must be a div in the XHTML namespace" }
        guard check.rootEnd == bytes.count else {
            return "the narrative must be a single div element, with nothing before or after it"
        }
        return nil
    }

    private final class RootCheck: SecureSAXSession {
        var rootIsXHTMLDiv = false
        var seenRoot = false
        var depth = 0
        var rootEnd = -1

        override func install(into handler: inout xmlSAXHandler) {
            handler.startElementNs = { context, localName, _, uri, _, _, _, _, _ in
                let check = Unmanaged<RootCheck>.fromOpaque(context!).takeUnretainedValue()
                check.depth += 1
                guard !check.seenRoot else { return }
                check.seenRoot = true
                check.rootIsXHTMLDiv = equals(localName, "div") && equals(uri, "http://www.w3.org/1999/xhtml")
            }
            handler.endElementNs = { context, _, _, _ in
                let check = Unmanaged<RootCheck>.fromOpaque(context!).takeUnretainedValue()
                check.depth -= 1
                if check.depth == 0 { check.rootEnd = check.byteOffset }
            }
        }
    }
}
