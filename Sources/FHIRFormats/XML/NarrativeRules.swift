import CLibXML2
import FHIRModel

/// R4's rules for a narrative (`Narrative.div`, invariants txt-1 and txt-2, whose FHIRPath is the
/// engine-specific `htmlChecks()`): only the basic formatting elements and attributes of HTML 4.0
/// (chapters 7–11 and 12, `a`, `img`, inline `style`) in the XHTML namespace, and some content.
/// The lists are the HL7 validator's, which is what answers are held to.
public enum NarrativeRules {
    public struct Findings: Sendable, Hashable {
        /// What breaks txt-1: malformed XHTML, an element or attribute outside the lists.
        public var problems: [String] = []
        /// txt-2: some non-white-space text, or an image.
        public var hasContent = false
    }

    public static func check(_ xhtml: String) -> Findings {
        var bytes = Array(xhtml.utf8)
        let scan = Scan(limits: DecodingOptions.Limits())
        bytes.withUnsafeMutableBufferPointer { scan.parse(UnsafeBufferPointer($0)) }
        var findings = scan.findings
        if let failure = scan.failure { findings.problems.insert(failure.message, at: 0) }
        return findings
    }

    static let elements: Set<String> = [
        "p", "br", "div", "h1", "h2", "h3", "h4", "h5", "h6", "a", "span", "b", "em", "i", "strong", "small", "big", "tt", "dfn", "q",
        "var", "abbr", "acronym", "cite", "blockquote", "hr", "address", "bdo", "kbd", "sub", "sup", "ul", "ol", "li", "dl", "dt", "dd",
        "pre", "table", "caption", "colgroup", "col", "thead", "tr", "tfoot", "tbody", "th", "td", "code", "samp", "img", "map", "area",
    ]
    /// Allowed on every element (the core attributes, and the table layout ones).
    static let attributes: Set<String> = [
        "title", "style", "class", "id", "lang", "xml:lang", "xml:space", "dir", "accesskey", "tabindex",
        "span", "width", "align", "valign", "char", "charoff", "abbr", "axis", "headers", "scope", "rowspan", "colspan",
    ]
    /// Allowed on one element only.
    static let elementAttributes: Set<String> = [
        "a.href", "a.name", "img.src", "img.border", "img.alt", "img.width", "img.height", "blockquote.cite", "q.cite", "area.href",
        "area.shape", "area.coords", "table.border", "table.summary", "table.cellpadding", "table.cellspacing", "td.nowrap", "ol.start",
    ]

    private final class Scan: SecureSAXSession {
        var findings = Findings()

        func note(_ problem: String) {
            if findings.problems.count < 5, !findings.problems.contains(problem) { findings.problems.append(problem) }
        }

        override func install(into handler: inout xmlSAXHandler) {
            handler.startElementNs = { context, localName, _, uri, _, _, attributeCount, _, attributes in
                let scan = Unmanaged<Scan>.fromOpaque(context!).takeUnretainedValue()
                let name = localName.map { String(cString: $0) } ?? ""
                guard equals(uri, "http://www.w3.org/1999/xhtml") else { return scan.note("element \(name) is not in the XHTML namespace") }
                guard NarrativeRules.elements.contains(name) else { return scan.note("element \(name) is not allowed in a narrative") }
                if name == "img" { scan.findings.hasContent = true }
                for index in 0..<Int(attributeCount) {
                    guard let attributes, let local = attributes[index * 5] else { continue }
                    let prefix = attributes[index * 5 + 1].map { String(cString: $0) + ":" } ?? ""
                    let attribute = prefix + String(cString: local)
                    if !NarrativeRules.attributes.contains(attribute), !NarrativeRules.elementAttributes.contains("\(name).\(attribute)") {
                        scan.note("attribute \(attribute) is not allowed on \(name) in a narrative")
                    }
                }
            }
            handler.characters = { context, characters, length in
                let scan = Unmanaged<Scan>.fromOpaque(context!).takeUnretainedValue()
                guard !scan.findings.hasContent, let characters else { return }
                let text = UnsafeBufferPointer(start: characters, count: Int(length))
                if text.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) { scan.findings.hasContent = true }
            }
        }
    }
}
