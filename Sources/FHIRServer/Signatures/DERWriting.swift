import Foundation

/// The few DER encodings erx writes itself (CMS SignedData, the Admission extension): tag, definite
/// length, content. swift-certificates' own CMS types are internal, and its `CMS.sign` cannot add the
/// ESS signing-certificate attribute the production service insists on, so the CMS is assembled here.
enum DERWriting {
    /// A tag-length-value with a definite length (short form below 128 bytes, else long form).
    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        var length: [UInt8] = []
        if content.count < 0x80 {
            length = [UInt8(content.count)]
        } else {
            var count = content.count
            while count > 0 {
                length.insert(UInt8(count & 0xFF), at: 0)
                count >>= 8
            }
            length.insert(0x80 | UInt8(length.count), at: 0)
        }
        return [tag] + length + content
    }

    static func sequence(_ parts: [UInt8]...) -> [UInt8] { tlv(0x30, parts.flatMap { $0 }) }

    /// A DER `SET OF`: the members sorted by their encodings (X.690 §11.6), as a verifier that
    /// re-encodes the signed attributes (OpenSSL) will sort them before checking the signature.
    static func setOf(_ members: [[UInt8]]) -> [UInt8] {
        tlv(0x31, members.sorted { $0.lexicographicallyPrecedes($1) }.flatMap { $0 })
    }

    static func octetString(_ bytes: [UInt8]) -> [UInt8] { tlv(0x04, bytes) }

    static func integer(_ value: Int) -> [UInt8] {
        precondition(value >= 0 && value < 0x80)
        return tlv(0x02, [UInt8(value)])
    }

    /// An OBJECT IDENTIFIER from its dotted arcs (base-128 arcs, the first two combined).
    static func oid(_ arcs: [UInt]) -> [UInt8] {
        var content: [UInt8] = []
        for arc in [arcs[0] * 40 + arcs[1]] + arcs.dropFirst(2) {
            var groups: [UInt8] = [UInt8(arc & 0x7F)]
            var rest = arc >> 7
            while rest > 0 {
                groups.insert(UInt8(rest & 0x7F) | 0x80, at: 0)
                rest >>= 7
            }
            content += groups
        }
        return tlv(0x06, content)
    }

    static func oid(_ dotted: String) -> [UInt8] { oid(dotted.split(separator: ".").compactMap { UInt($0) }) }

    /// `UTCTime` (`YYMMDDHHMMSSZ`) for 1950–2049, else `GeneralizedTime`, as RFC 5652 §11.3 asks of
    /// the signing-time attribute.
    static func time(_ date: Date) -> [UInt8] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let year = c.year ?? 1970
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        let rest = two(c.month) + two(c.day) + two(c.hour) + two(c.minute) + two(c.second) + "Z"
        if (1950..<2050).contains(year) { return tlv(0x17, Array((two(year % 100) + rest).utf8)) }
        return tlv(0x18, Array((String(format: "%04d", year) + rest).utf8))
    }

    static func utf8String(_ text: String) -> [UInt8] { tlv(0x0C, Array(text.utf8)) }
    static func printableString(_ text: String) -> [UInt8] { tlv(0x13, Array(text.utf8)) }
}

/// The object identifiers of CMS and CAdES that erx writes or looks for.
enum CMSIdentifiers {
    static let data = "1.2.840.113549.1.7.1"
    static let signedData = "1.2.840.113549.1.7.2"
    static let contentType = "1.2.840.113549.1.9.3"
    static let messageDigest = "1.2.840.113549.1.9.4"
    static let signingTime = "1.2.840.113549.1.9.5"
    /// ESS signing-certificate (RFC 2634) and signing-certificate-v2 (RFC 5035).
    static let signingCertificate = "1.2.840.113549.1.9.16.2.12"
    static let signingCertificateV2 = "1.2.840.113549.1.9.16.2.47"
    static let sha256 = "2.16.840.1.101.3.4.2.1"
    static let sha384 = "2.16.840.1.101.3.4.2.2"
    static let sha512 = "2.16.840.1.101.3.4.2.3"
    static let sha1 = "1.3.14.3.2.26"
    static let ecdsaWithSHA256 = "1.2.840.10045.4.3.2"
    /// Common-PKI / gemSpec_PKI Admission extension (`AdmissionSyntax`).
    static let admission = "1.3.36.8.3.3"
    /// Brainpool curves (RFC 5639), which the TI's HBA cards use and swift-crypto lacks.
    static let brainpoolPrefix = "1.3.36.3.3.2.8.1.1."
}
