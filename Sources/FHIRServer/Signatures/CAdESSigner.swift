public import Crypto
public import Foundation
@_spi(CMS) public import X509
import SwiftASN1

/// A signer's certificate and key, and the certificates between it and a trust anchor.
///
/// Keys are P-256 (swift-crypto). The TI's cards and the production service's HSM sign with
/// brainpoolP256r1, which swift-crypto does not offer; a P-256 signature is otherwise the same CMS.
public struct SigningIdentity: Sendable {
    public let certificate: Certificate
    public let key: P256.Signing.PrivateKey
    /// Intermediate certificates to embed after the signer's (not the anchor).
    public let chain: [Certificate]

    public init(certificate: Certificate, key: P256.Signing.PrivateKey, chain: [Certificate] = []) {
        self.certificate = certificate
        self.key = key
        self.chain = chain
    }

    /// An enveloping CAdES-BES signature over `content` (see ``CAdESSigner``).
    public func sign(_ content: [UInt8], signingTime: Date) throws -> [UInt8] {
        try CAdESSigner.sign(content, identity: self, signingTime: signingTime)
    }
}

/// Writes an enveloping CMS SignedData (RFC 5652) with the CAdES-BES signed attributes (ETSI EN
/// 319 122-1): content-type, signing-time, message-digest and ESS signing-certificate-v2 — the four
/// the production service requires of a prescription (`CadesBesSignature.cxx` `verifySignerInfo`)
/// and writes on its receipts (A_19233-06). The content travels inside (`eContent`), in binary form.
enum CAdESSigner {
    /// `signingTime` `nil` leaves the attribute out, and `namingInstead` names another certificate
    /// in the signing-certificate attribute (only tests want either: the service refuses both).
    static func sign(_ content: [UInt8], identity: SigningIdentity, signingTime: Date?, namingInstead: Certificate? = nil) throws -> [UInt8] {
        typealias W = DERWriting
        let certificateDER = try der(identity.certificate)
        let namedDER = try namingInstead.map(der) ?? certificateDER
        let digest = Array(SHA256.hash(data: content))
        let sha256 = W.sequence(W.oid(CMSIdentifiers.sha256))
        // SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 }; ESSCertIDv2 with the
        // default hash algorithm (SHA-256) omitted, certHash only.
        let essCertID = W.sequence(W.octetString(Array(SHA256.hash(data: namedDER))))
        let attributes: [[UInt8]] = [
            W.sequence(W.oid(CMSIdentifiers.contentType), W.setOf([W.oid(CMSIdentifiers.data)])),
            signingTime.map { W.sequence(W.oid(CMSIdentifiers.signingTime), W.setOf([W.time($0)])) },
            W.sequence(W.oid(CMSIdentifiers.messageDigest), W.setOf([W.octetString(digest)])),
            W.sequence(W.oid(CMSIdentifiers.signingCertificateV2), W.setOf([W.sequence(W.sequence(essCertID))])),
        ].compactMap { $0 }
        // RFC 5652 §5.4: the signature is over the DER `SET OF` of the attributes; in the SignerInfo
        // they appear under the implicit tag [0].
        let signedAttributes = W.setOf(attributes)
        let signature = try identity.key.signature(for: signedAttributes).derRepresentation
        let (issuer, serial) = try issuerAndSerial(certificateDER)
        let signerInfo = W.sequence(
            W.integer(1),
            W.sequence(issuer, serial),
            sha256,
            [0xA0] + signedAttributes.dropFirst(),
            W.sequence(W.oid(CMSIdentifiers.ecdsaWithSHA256)),
            W.octetString(Array(signature))
        )
        let certificates = try [certificateDER] + identity.chain.map(der)
        let signedData = W.sequence(
            W.integer(1),
            W.tlv(0x31, sha256),
            W.sequence(W.oid(CMSIdentifiers.data), W.tlv(0xA0, W.octetString(content))),
            W.tlv(0xA0, certificates.flatMap { $0 }),
            W.tlv(0x31, signerInfo)
        )
        return W.sequence(W.oid(CMSIdentifiers.signedData), W.tlv(0xA0, signedData))
    }

    static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    /// The issuer Name and serialNumber INTEGER of a certificate, as encoded in it (RFC 5280
    /// `TBSCertificate { [0] version, serialNumber, signature, issuer, … }`).
    static func issuerAndSerial(_ certificateDER: [UInt8]) throws -> (issuer: [UInt8], serial: [UInt8]) {
        let tbs = try ASN1Walk.children(of: ASN1Walk.children(of: DER.parse(certificateDER))[0])
        let fields = tbs.first?.identifier.tagClass == .contextSpecific ? Array(tbs.dropFirst()) : tbs
        guard fields.count > 2 else { throw ASN1Walk.Malformed() }
        return (Array(fields[2].encodedBytes), Array(fields[0].encodedBytes))
    }
}

/// Small helpers for walking parsed ASN.1.
enum ASN1Walk {
    struct Malformed: Error {}

    static func children(of node: ASN1Node) throws -> [ASN1Node] {
        guard case .constructed(let children) = node.content else { throw Malformed() }
        return Array(children)
    }

    static func oid(_ node: ASN1Node) -> String? {
        guard node.identifier == .objectIdentifier, let oid = try? ASN1ObjectIdentifier(derEncoded: node) else { return nil }
        return oid.description
    }
}
