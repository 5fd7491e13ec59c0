import FHIRFormats
import Foundation

/// The Konnektor's `Prüfungsnachweis` (PN) as a pharmacy sends it in `pnw`: base64 of the gzip of
/// a small XML document (gemSpec_FM_VSDM's schema `Pruefungsnachweis`, namespace
/// `http://ws.gematik.de/fa/vsdm/pnw/v1.0`). A_23450: the FD decodes it and checks it against the
/// schema; the schema's rules are written out by hand here (``parse(xml:)``).
public struct ProofOfPresence: Sendable, Hashable {
    public static let namespace = "http://ws.gematik.de/fa/vsdm/pnw/v1.0"

    /// `TS`: when the Konnektor checked the card (`yyyyMMddHHmmss`), as written.
    public var timestamp: String
    /// `E`: the result (1 updated, 2 no update needed, 3 online check impossible, 4–6 errors).
    public var result: Int
    /// `EC`: the Konnektor's error code, if any.
    public var errorCode: Int?
    /// `PZ`: the check digit of the VSDM service (base64), absent in a "PN3".
    public var checkDigit: String?
    public var cdmVersion: String

    public init(timestamp: String, result: Int, errorCode: Int? = nil, checkDigit: String?, cdmVersion: String = "1.0.0") {
        self.timestamp = timestamp
        self.result = result
        self.errorCode = errorCode
        self.checkDigit = checkDigit
        self.cdmVersion = cdmVersion
    }

    /// Why a `pnw` could not be read; the texts are the FD's (fd-parity §1.3 row 7).
    public enum Failure: Error, Sendable, Hashable {
        /// Not base64, not gzip, or too large once inflated: `Failed decoding PNW data.`
        case undecodable
        /// Not well-formed, or not what the schema admits: `Failed parsing PNW XML.`
        case invalidDocument
    }

    /// Decodes `pnw` (base64, as the query gives it after URL decoding) and reads the PN in it.
    public static func decode(pnw: String) throws(Failure) -> ProofOfPresence {
        guard let gzipped = Base64Text.decode(pnw), let xml = try? Gzip.inflate(gzipped) else { throw .undecodable }
        return try parse(xml: xml)
    }

    /// The schema's rules: root `PN` with `CDM_VERSION` (`n.n.n`, one to three digits each), then
    /// exactly `TS`, `E`, optionally `EC`, optionally `PZ`, in that order, all in the namespace,
    /// each holding text only.
    public static func parse(xml: [UInt8]) throws(Failure) -> ProofOfPresence {
        guard let root = try? XMLElementReader.read(xml), root.namespace == namespace, root.name == "PN",
              root.attributes.keys.allSatisfy({ $0 == "CDM_VERSION" }),
              let version = root.attributes["CDM_VERSION"], isVersion(version),
              root.text.allSatisfy(\.isWhitespace),
              root.children.allSatisfy({ $0.namespace == namespace && $0.children.isEmpty && $0.attributes.isEmpty })
        else { throw .invalidDocument }
        var children = root.children[...]
        func take(_ name: String) -> String? {
            guard children.first?.name == name else { return nil }
            return children.popFirst()?.text
        }
        guard let timestamp = take("TS"), isTimestamp(timestamp),
              let resultText = take("E"), let result = integer(resultText, maxDigits: 1)
        else { throw .invalidDocument }
        let errorCode = take("EC")
        let checkDigit = take("PZ")
        guard children.isEmpty else { throw .invalidDocument }
        var parsedErrorCode: Int?
        if let errorCode {
            guard let value = integer(errorCode, maxDigits: 5) else { throw .invalidDocument }
            parsedErrorCode = value
        }
        var digit: String?
        if let checkDigit {
            // base64Binary collapses whitespace; at most 65 bytes decoded (the schema's maxLength).
            let collapsed = String(checkDigit.filter { !$0.isWhitespace })
            guard let bytes = Base64Text.decode(collapsed), bytes.count <= 65 else { throw .invalidDocument }
            digit = collapsed
        }
        return ProofOfPresence(timestamp: timestamp, result: result, errorCode: parsedErrorCode, checkDigit: digit, cdmVersion: version)
    }

    /// The PN as the Konnektor writes it, for the development generator and tests.
    public func xml() -> String {
        var body = "<TS>\(timestamp)</TS><E>\(result)</E>"
        if let errorCode { body += "<EC>\(errorCode)</EC>" }
        if let checkDigit { body += "<PZ>\(checkDigit)</PZ>" }
        return #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><PN xmlns="\#(Self.namespace)" CDM_VERSION="\#(cdmVersion)">\#(body)</PN>"#
    }

    /// `pnw`: base64(gzip(xml)); `nil` only if zlib fails.
    public func pnw() -> String? {
        Gzip.deflate(Array(xml().utf8)).map { Data($0).base64EncodedString() }
    }

    static func isVersion(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 3 && parts.allSatisfy { (1...3).contains($0.count) && $0.allSatisfy(\.isASCIIDigit) }
    }

    /// `yyyyMMddHHmmss` with the schema's ranges (month 01–12, day 01–31, hour 00–23, …).
    static func isTimestamp(_ text: String) -> Bool {
        let digits = Array(text.utf8)
        guard digits.count == 14, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        func number(_ from: Int, _ count: Int) -> Int { digits[from..<(from + count)].reduce(0) { $0 * 10 + Int($1 - 0x30) } }
        return (1...12).contains(number(4, 2)) && (1...31).contains(number(6, 2)) && number(8, 2) <= 23
            && number(10, 2) <= 59 && number(12, 2) <= 59
    }

    /// An `xs:integer` of at most `maxDigits` significant digits (whitespace collapsed, optional sign).
    static func integer(_ text: String, maxDigits: Int) -> Int? {
        var body = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        if body.first == "+" || body.first == "-" { body = body.dropFirst() }
        guard !body.isEmpty, body.allSatisfy(\.isASCIIDigit) else { return nil }
        let significant = body.drop { $0 == "0" }
        guard significant.count <= maxDigits else { return nil }
        let value = Int(significant) ?? 0
        return text.trimmingCharacters(in: .whitespacesAndNewlines).first == "-" ? -value : value
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// Base64 as the FD's decoder takes it: the standard and the URL alphabet, padding optional.
enum Base64Text {
    static func decode(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        var normalized = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while normalized.last == "=" { normalized.removeLast() }
        guard normalized.count % 4 != 1 else { return nil }
        normalized += String(repeating: "=", count: (4 - normalized.count % 4) % 4)
        return Data(base64Encoded: normalized).map { Array($0) }
    }

    /// base64url without padding (the `hcv` query parameter).
    static func url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
