import CLibXML2
import FHIRModel

/// Checks narrative XHTML that arrives as a JSON string before it is written raw into XML.
///
/// It must be well-formed XML whose root is `div` in the XHTML namespace; it is parsed with the same
/// secure settings as FHIR XML (no DTD, no entities, no network).
enum XHTMLFragment {
    static func problem(in text: String) -> String? {
        var bytes = Array(text.utf8)
        let check = RootCheck(limits: DecodingOptions.Limits())
        bytes.withUnsafeMutableBufferPointer { check.parse(UnsafeBufferPointer($0)) }
        if let failure = check.failure { return failure.message }
        return check.rootIsXHTMLDiv ? nil : "the root element must be a div in the XHTML namespace"
    }

    private final class RootCheck: SecureSAXSession {
        var rootIsXHTMLDiv = false
        var seenRoot = false

        override func install(into handler: inout xmlSAXHandler) {
            handler.startElementNs = { context, localName, _, uri, _, _, _, _, _ in
                let check = Unmanaged<RootCheck>.fromOpaque(context!).takeUnretainedValue()
                guard !check.seenRoot else { return }
                check.seenRoot = true
                check.rootIsXHTMLDiv = equals(localName, "div") && equals(uri, "http://www.w3.org/1999/xhtml")
            }
        }
    }
}
