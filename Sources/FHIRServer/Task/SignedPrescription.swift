import Dispensing
public import Foundation
@_spi(CMS) public import X509
import SwiftASN1

/// The prescriber's signed prescription: a CMS SignedData (RFC 5652, "PKCS#7") that envelops the
/// KBV bundle. The content is always extracted; the signature is verified when the server has trust
/// anchors (`--trust-anchors FILE.pem`).
public struct SignedPrescription: Sendable {
    /// The certificates a signer must chain to; `nil`: extract without verifying.
    public let trustAnchors: [Certificate]?

    public init(trustAnchors: [Certificate]?) {
        self.trustAnchors = trustAnchors
    }

    /// Reads PEM certificates (one file, several `BEGIN CERTIFICATE` blocks).
    public static func anchors(pemFile: URL) throws -> [Certificate] {
        let text = try String(contentsOf: pemFile, encoding: .utf8)
        return try PEMDocument.parseMultiple(pemString: text).map { try Certificate(pemDocument: $0) }
    }

    /// The enveloped content, after verifying the signature if anchors are configured.
    func content(of cms: [UInt8], expression: String) async throws -> [UInt8] {
        let content: [UInt8]
        do {
            content = try Self.encapsulatedContent(of: cms)
        } catch {
            throw DispensingError.invalidPrescription(reason: "The ePrescription is not a CMS SignedData with enveloped content.", expression: expression)
        }
        guard let trustAnchors else { return content }
        let result = try await CMS.isValidSignature(
            dataBytes: content, signatureBytes: cms, trustRoots: CertificateStore(trustAnchors), allowAttachedContent: true
        ) {
            RFC5280Policy(validationTime: Date())
        }
        guard case .success = result else {
            throw DispensingError.invalidPrescription(reason: "The signature of the ePrescription could not be verified.", expression: expression)
        }
        return content
    }

    /// `ContentInfo { contentType, [0] SignedData { version, digestAlgorithms, encapContentInfo {
    /// eContentType, [0] eContent OCTET STRING } … } }`; the OCTET STRING may be BER-constructed.
    static func encapsulatedContent(of cms: [UInt8]) throws -> [UInt8] {
        let contentInfo = try BER.parse(cms)
        let explicitSignedData = try child(of: contentInfo, at: 1, tag: .init(tagWithNumber: 0, tagClass: .contextSpecific))
        let signedData = try child(of: explicitSignedData, at: 0, tag: .sequence)
        let encapsulated = try child(of: signedData, at: 2, tag: .sequence)
        let explicitContent = try child(of: encapsulated, at: 1, tag: .init(tagWithNumber: 0, tagClass: .contextSpecific))
        let octets = try child(of: explicitContent, at: 0, tag: .octetString)
        return try ASN1OctetString(berEncoded: octets).bytes.map { $0 }
    }

    struct Malformed: Error {}

    private static func child(of node: ASN1Node, at index: Int, tag: ASN1Identifier) throws -> ASN1Node {
        guard case .constructed(let children) = node.content else { throw Malformed() }
        var iterator = children.makeIterator()
        var position = 0
        while let next = iterator.next() {
            if position == index {
                guard next.identifier == tag else { throw Malformed() }
                return next
            }
            position += 1
        }
        throw Malformed()
    }
}
