public import Dispensing
public import Foundation
@_spi(CMS) public import X509
import SwiftASN1
import Crypto

/// The prescriber's signed prescription: a CMS SignedData (RFC 5652, "PKCS#7") that envelops the
/// KBV bundle. The content and the signing time are always read; with trust anchors
/// (`--trust-anchors FILE.pem`) the QES is checked as the production service checks it at
/// `$activate` (fd-parity.md §8.2 row 1; IBM `shared/crypto/SignedPrescription.cxx`,
/// `CadesBesSignature.cxx`, `tsl/TslService.cxx`), each failure answered with its text.
public struct SignedPrescription: Sendable {
    /// The certificates a signer must chain to; `nil`: extract without verifying.
    public let trustAnchors: [Certificate]?
    /// Signs what `--accept-unsigned` admits, so pharmacies still get a CMS; `nil`: a development
    /// identity made for this process.
    public let developmentSigner: SigningIdentity?

    public init(trustAnchors: [Certificate]?, developmentSigner: SigningIdentity? = nil) {
        self.trustAnchors = trustAnchors
        self.developmentSigner = developmentSigner
    }

    /// Reads PEM certificates (one file, several `BEGIN CERTIFICATE` blocks).
    public static func anchors(pemFile: URL) throws -> [Certificate] {
        let text = try String(contentsOf: pemFile, encoding: .utf8)
        return try PEMDocument.parseMultiple(pemString: text).map { try Certificate(pemDocument: $0) }
    }

    /// The texts of the production service (IBM 1.22), which gematik's suite and clients see in
    /// `details.text`.
    enum Text {
        static let unreadable = "CAdES-BES signature verification has failed: d2i_CMS_bio failed."
        static let invalidSignature = "CAdES-BES signature verification has failed: CMS_verify failed."
        static let noContentType = "No content type in signed info."
        static let noSigningTime = "No signing time in signed info."
        static let noMessageDigest = "No message digest in signed info."
        static let noSigningCertificate = "No certificate in signed info."
        static let certificateNotValid = "The certificate must be valid."
        static let issuerUnknown = "Issuer is unknown."
        static let issuerKeyUnknown = "Issuer has known subjectDN but subjectKeyIdentifier is unknown."
        static let chainInvalid = "Certificate chain verification failed: Signer certificate is invalid"
        static let profession = "The QES-Certificate does not have expected ProfessionOID."
    }

    /// The digest an ESS certificate ID names; `nil` for an algorithm erx does not know.
    static func digest(_ bytes: [UInt8], algorithm: String) -> [UInt8]? {
        switch algorithm {
        case CMSIdentifiers.sha256: Array(SHA256.hash(data: bytes))
        case CMSIdentifiers.sha384: Array(SHA384.hash(data: bytes))
        case CMSIdentifiers.sha512: Array(SHA512.hash(data: bytes))
        case CMSIdentifiers.sha1: Array(Insecure.SHA1.hash(data: bytes))
        default: nil
        }
    }

    /// The enveloped content and the signing time, after verifying the QES if anchors are
    /// configured (A_19020, A_20159-04, A_19225-02, A_25990, A_27812). Every refusal is a
    /// `.signature` refusal: 400 with `VAU-Error-Code: invalid_prescription` (A_20704).
    public func verify(_ cms: [UInt8], flowType: FlowType, expression: String) async throws -> (content: [UInt8], signedAt: Date?) {
        func refuse(_ text: String, detailCode: String? = nil, _ diagnostics: String? = nil) -> DispensingError {
            .prescriptionRefused(.init(.signature, text: text, detailCode: detailCode, expression: expression, diagnostics: diagnostics))
        }
        let contents: CMSContents
        do {
            contents = try CMSContents(cms)
        } catch {
            throw refuse(Text.unreadable, "The ePrescription is not a CMS SignedData with enveloped content.")
        }
        guard let trustAnchors else { return (contents.content, contents.signingTime) }
        // The CAdES-BES attributes the service requires (`CadesBesSignature.cxx` verifySignerInfo).
        let types = contents.signedAttributeTypes
        guard types.contains(CMSIdentifiers.contentType) else { throw refuse(Text.noContentType) }
        guard let signingTime = contents.signingTime else { throw refuse(Text.noSigningTime) }
        guard types.contains(CMSIdentifiers.messageDigest) else { throw refuse(Text.noMessageDigest) }
        guard types.contains(CMSIdentifiers.signingCertificate) || types.contains(CMSIdentifiers.signingCertificateV2) else {
            throw refuse(Text.noSigningCertificate)
        }
        if contents.usesBrainpool {
            throw refuse(Text.invalidSignature, "erx cannot verify brainpool (ECC-brainpoolP256r1) signatures: swift-crypto has no brainpool curves.")
        }
        guard let signature = try? CMSSignature(berEncoded: ArraySlice(cms)), let signer = try? signature.signers.first?.certificate else {
            throw refuse(Text.unreadable, "The signer's certificate is missing or unreadable.")
        }
        // The signing-certificate attribute must name this signer (RFC 5035; OpenSSL's CMS_verify,
        // which the production service uses, checks the ESS certificate IDs too).
        guard let named = contents.signingCertificateHash, let signerBytes = try? CAdESSigner.der(signer),
              let actual = Self.digest(signerBytes, algorithm: named.algorithm), actual == named.hash
        else {
            throw refuse(Text.invalidSignature, "The signing-certificate attribute does not name the signer's certificate.")
        }
        // Validity at the signing time, not now (the QES of a prescription signed yesterday with a
        // card that expired today is valid), then a known issuer (`TslService.cxx` checkCertificate).
        guard signer.notValidBefore <= signingTime, signingTime <= signer.notValidAfter else {
            throw refuse(Text.certificateNotValid, "The signer's certificate is not valid at the signing time.")
        }
        // Issuers are the anchors and the intermediates the CMS brings, never the signer itself.
        let issuers = (trustAnchors + signature.certificates.filter { $0 != signer }).filter { $0.subject == signer.issuer }
        guard !issuers.isEmpty else { throw refuse(Text.issuerUnknown) }
        if let authorityKey = try? signer.extensions.authorityKeyIdentifier?.keyIdentifier,
           !issuers.contains(where: { (try? $0.extensions.subjectKeyIdentifier?.keyIdentifier) == authorityKey }) {
            throw refuse(Text.issuerKeyUnknown)
        }
        // The chain to an anchor, at the signing time; then the profession; the signature last
        // (IBM: TSL check, profession, then CMS_verify).
        var verifier = Verifier(rootCertificates: CertificateStore(trustAnchors)) { RFC5280Policy(validationTime: signingTime) }
        guard case .validCertificate = await verifier.validate(leaf: signer, intermediates: CertificateStore(signature.certificates)) else {
            throw refuse(Text.chainInvalid)
        }
        // Only a qualified signature certificate (C.HP.QES: key usage nonRepudiation) may sign a
        // prescription; the same card's authentication and encryption certificates name the same
        // profession, and their keys sign challenges (IBM `TslService` admits only the QES type).
        guard (try? signer.extensions.keyUsage)??.nonRepudiation == true else {
            throw refuse(Text.certificateNotValid, "The signer's certificate is not a qualified signature certificate (no nonRepudiation key usage).")
        }
        let allowed = SignerProfession.allowed(for: flowType)
        let professions = (signer.extensions.first { $0.oid.description == CMSIdentifiers.admission })
            .flatMap { try? Admission.professionOIDs(in: Array($0.value)) } ?? []
        guard professions.contains(where: { SignerProfession(rawValue: $0).map(allowed.contains) ?? false }) else {
            throw refuse(Text.profession, detailCode: "TIFLOW_SIGNATURE_INVALID_ISSUING_ROLE",
                         "Allowed for flow type \(flowType.rawValue): \(allowed.map(\.rawValue).sorted().joined(separator: ", ")); the certificate names: \(professions.isEmpty ? "none" : professions.joined(separator: ", ")).")
        }
        let result = await CMS.isValidSignature(
            dataBytes: contents.content, signatureBytes: cms, trustRoots: CertificateStore(trustAnchors), allowAttachedContent: true
        ) {
            RFC5280Policy(validationTime: signingTime)
        }
        switch result {
        case .success:
            return (contents.content, signingTime)
        case .failure(.unableToValidateSigner):
            throw refuse(Text.chainInvalid)
        case .failure:
            throw refuse(Text.invalidSignature, "The signature or the message digest does not match the content.")
        }
    }
}
