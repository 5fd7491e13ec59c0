public import Foundation
import SwiftASN1

/// What erx reads out of a CMS SignedData (RFC 5652) without verifying anything: the enveloped
/// content and the first signer's signed attributes. BER is accepted (connectors send indefinite
/// lengths and constructed OCTET STRINGs).
public struct CMSContents: Sendable {
    /// The `eContent` bytes: the KBV bundle of a prescription, the XML of a receipt.
    public let content: [UInt8]
    /// The `signingTime` signed attribute, if present.
    public let signingTime: Date?
    /// The `messageDigest` signed attribute: the digest the receipt's `GEM_ERP_PR_Digest` carries
    /// (fd-parity.md §3.1).
    public let messageDigest: [UInt8]?
    /// The object identifiers of all signed attributes present.
    public let signedAttributeTypes: Set<String>
    /// Whether a certificate in the CMS is on a brainpool curve (see ``CMSIdentifiers/brainpoolPrefix``).
    public let usesBrainpool: Bool
    /// The first ESS certificate ID of the `signingCertificateV2` (or v1) attribute: the hash the
    /// signer's certificate must have (RFC 5035; SHA-256 unless an algorithm is named, SHA-1 in v1).
    public let signingCertificateHash: (algorithm: String, hash: [UInt8])?

    public struct Malformed: Error {}

    /// `ContentInfo { contentType, [0] SignedData { version, digestAlgorithms, encapContentInfo {
    /// eContentType, [0] eContent OCTET STRING }, [0] certificates?, [1] crls?, signerInfos } }`.
    public init(_ cms: [UInt8]) throws {
        let contentInfo = try ASN1Walk.children(of: BER.parse(cms))
        guard contentInfo.count == 2, ASN1Walk.oid(contentInfo[0]) == CMSIdentifiers.signedData,
              let signedData = try ASN1Walk.children(of: contentInfo[1]).first
        else { throw Malformed() }
        let fields = try ASN1Walk.children(of: signedData)
        guard fields.count >= 4 else { throw Malformed() }
        let encapsulated = try ASN1Walk.children(of: fields[2])
        guard encapsulated.count == 2, let octets = try ASN1Walk.children(of: encapsulated[1]).first else { throw Malformed() }
        content = Array(try ASN1OctetString(berEncoded: octets).bytes)
        let certificates = fields.dropFirst(3).first { $0.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) }
        usesBrainpool = certificates.map { Self.contains(Array($0.encodedBytes), DERWriting.oid(CMSIdentifiers.brainpoolPrefix + "7").dropLast(1).dropFirst(2)) } ?? false
        guard let signerInfos = fields.last, signerInfos.identifier == .set, let signer = try ASN1Walk.children(of: signerInfos).first else { throw Malformed() }
        // SignerInfo { version, sid, digestAlgorithm, [0] signedAttrs OPTIONAL, … }: the fourth field,
        // never a search — a signer named by subjectKeyIdentifier has a `[0]` sid too.
        let attributes = try ASN1Walk.children(of: signer).dropFirst(3).first
            .flatMap { $0.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) ? $0 : nil }
        var types: Set<String> = []
        var signingTime: Date?
        var messageDigest: [UInt8]?
        var certificateHash: (algorithm: String, hash: [UInt8])?
        for attribute in try attributes.map(ASN1Walk.children(of:)) ?? [] {
            let parts = try ASN1Walk.children(of: attribute)
            guard parts.count == 2, let type = ASN1Walk.oid(parts[0]) else { throw Malformed() }
            types.insert(type)
            let value = try ASN1Walk.children(of: parts[1]).first
            switch type {
            case CMSIdentifiers.signingTime: signingTime = value.flatMap(Self.date)
            case CMSIdentifiers.messageDigest: messageDigest = try value.map { Array(try ASN1OctetString(berEncoded: $0).bytes) }
            case CMSIdentifiers.signingCertificateV2, CMSIdentifiers.signingCertificate:
                certificateHash = try value.flatMap { try Self.firstCertificateID($0, v2: type == CMSIdentifiers.signingCertificateV2) }
            default: break
            }
        }
        signingCertificateHash = certificateHash
        self.signingTime = signingTime
        self.messageDigest = messageDigest
        signedAttributeTypes = types
    }

    /// `SigningCertificate(V2) { certs SEQUENCE OF ESSCertID(v2) { [hashAlgorithm,] certHash, … }, … }`:
    /// the first certificate ID's algorithm (v2's default SHA-256; v1 is SHA-1) and hash.
    static func firstCertificateID(_ node: ASN1Node, v2: Bool) throws -> (algorithm: String, hash: [UInt8])? {
        guard let certs = try ASN1Walk.children(of: node).first, let first = try ASN1Walk.children(of: certs).first else { return nil }
        let fields = try ASN1Walk.children(of: first)
        guard v2 else {
            return try fields.first.map { (CMSIdentifiers.sha1, Array(try ASN1OctetString(berEncoded: $0).bytes)) }
        }
        var algorithm = CMSIdentifiers.sha256
        var rest = fields[...]
        if let head = rest.first, head.identifier == .sequence {
            algorithm = try ASN1Walk.children(of: head).first.flatMap(ASN1Walk.oid) ?? algorithm
            rest = rest.dropFirst()
        }
        return try rest.first.map { (algorithm, Array(try ASN1OctetString(berEncoded: $0).bytes)) }
    }

    /// A `UTCTime` or `GeneralizedTime` as a `Date`.
    static func date(_ node: ASN1Node) -> Date? {
        var components = DateComponents()
        if let time = try? UTCTime(berEncoded: node) {
            components = DateComponents(year: time.year, month: time.month, day: time.day, hour: time.hours, minute: time.minutes, second: time.seconds)
        } else if let time = try? GeneralizedTime(berEncoded: node) {
            components = DateComponents(year: time.year, month: time.month, day: time.day, hour: time.hours, minute: time.minutes, second: time.seconds)
        } else {
            return nil
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        return calendar.date(from: components)
    }

    static func contains(_ haystack: [UInt8], _ needle: ArraySlice<UInt8>) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
