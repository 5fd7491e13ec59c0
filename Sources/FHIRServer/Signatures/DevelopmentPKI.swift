public import Crypto
public import Foundation
@_spi(CMS) public import X509
import SwiftASN1

/// A development PKI, so that test suites can sign prescriptions as a prescriber's HBA does and erx
/// can check them (`erx dev-pki`, `erx sign-prescription`, `erx serve --trust-anchors`): a CA, and
/// prescriber certificates issued by it with the Admission extension (profession, Telematik-ID).
///
/// Nothing here is a qualified signature: every subject says `TEST-ONLY`, as gematik's test
/// certificates do, and the keys are P-256 (not brainpool).
public enum DevelopmentPKI {
    public static let caCertificateFile = "dev-ca.pem"
    public static let caKeyFile = "dev-ca-key.pem"
    public static let defaultSigner = "prescriber"
    public static let defaultTelematikID = "1-HBA-Testkarte-883110000129068"

    public static func certificateFile(_ signer: String) -> String { "\(signer).pem" }
    public static func keyFile(_ signer: String) -> String { "\(signer)-key.pem" }

    /// The CA in `directory`, made there on first use. `created` says whether it was made now.
    public static func loadOrCreateCA(in directory: URL, now: Date = Date()) throws -> (identity: SigningIdentity, created: Bool) {
        try loadOrCreate(certificate: caCertificateFile, key: caKeyFile, in: directory) { key in
            try selfSigned(key: key, name: "erx Entwicklungs-CA TEST-ONLY", notBefore: now.addingTimeInterval(-86_400 * 365),
                           notAfter: now.addingTimeInterval(86_400 * 365 * 20), isCA: true)
        }
    }

    /// A prescriber's signing identity `name` in `directory`, issued by the CA there (made first if
    /// need be); an existing one is kept as it is, whatever the other arguments say.
    public static func loadOrCreateSigner(
        named name: String = defaultSigner, in directory: URL, profession: SignerProfession = .arzt,
        telematikID: String = defaultTelematikID, notBefore: Date? = nil, notAfter: Date? = nil, now: Date = Date()
    ) throws -> (identity: SigningIdentity, created: Bool) {
        let ca = try loadOrCreateCA(in: directory, now: now).identity
        return try loadOrCreate(certificate: certificateFile(name), key: keyFile(name), in: directory) { key in
            try prescriberCertificate(key: key.publicKey, issuer: ca, profession: profession, telematikID: telematikID,
                                      notBefore: notBefore ?? now.addingTimeInterval(-86_400), notAfter: notAfter ?? now.addingTimeInterval(86_400 * 365 * 5))
        }
    }

    /// An HBA-style certificate: not a CA, key usage nonRepudiation (a QES key, gemSpec_PKI
    /// C.HP.QES), and the Admission extension naming the profession and Telematik-ID.
    public static func prescriberCertificate(
        key: P256.Signing.PublicKey, issuer: SigningIdentity, profession: SignerProfession, telematikID: String,
        notBefore: Date, notAfter: Date
    ) throws -> Certificate {
        let subject = try DistinguishedName {
            CountryName("DE")
            CommonName("Dr. Erx Entwicklung (\(profession.title)) TEST-ONLY")
        }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(nonRepudiation: true))
            AuthorityKeyIdentifier(keyIdentifier: try SubjectKeyIdentifier(hash: issuer.certificate.publicKey).keyIdentifier)
            // As HBA certificates have: a CMS may name its signer by this identifier.
            SubjectKeyIdentifier(hash: Certificate.PublicKey(key))
            Certificate.Extension(oid: try ASN1ObjectIdentifier(dotRepresentation: CMSIdentifiers.admission), critical: false,
                                  value: ArraySlice(Admission.encode(profession, registrationNumber: telematikID)))
        }
        return try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key), notValidBefore: notBefore, notValidAfter: notAfter,
            issuer: issuer.certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions, issuerPrivateKey: .init(issuer.key)
        )
    }

    /// A self-signed certificate: a CA's, or a server's own signing certificate. The latter is also
    /// marked a CA (path length 0), since an RFC 5280 verifier (swift-certificates, as OpenSSL in
    /// strict mode) takes a self-signed certificate as trust anchor only if it is one: so a client can
    /// verify the server's signatures with the certificate itself as anchor.
    public static func selfSigned(key: P256.Signing.PrivateKey, name: String, notBefore: Date, notAfter: Date, isCA: Bool) throws -> Certificate {
        let subject = try DistinguishedName {
            CountryName("DE")
            OrganizationName("erx")
            CommonName(name)
        }
        let extensions = try Certificate.Extensions {
            if isCA {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            } else {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, nonRepudiation: true, keyCertSign: true))
            }
            SubjectKeyIdentifier(hash: .init(key.publicKey))
        }
        return try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: notBefore, notValidAfter: notAfter,
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: .init(key)
        )
    }

    /// Reads a certificate and P-256 key pair (PEM) and checks they belong together.
    public static func load(certificate: URL, key: URL) throws -> SigningIdentity {
        let certificate = try Certificate(pemEncoded: String(contentsOf: certificate, encoding: .utf8))
        let key = try P256.Signing.PrivateKey(pemRepresentation: String(contentsOf: key, encoding: .utf8))
        guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else { throw MismatchedKey() }
        return SigningIdentity(certificate: certificate, key: key)
    }

    public struct MismatchedKey: Error, CustomStringConvertible {
        public var description: String { "the key does not belong to the certificate" }
    }

    /// Loads the pair, or makes the key, then the certificate, each written whole and never over an
    /// existing file (``ExclusiveFile``); keys mode 0600.
    static func loadOrCreate(certificate: String, key: String, in directory: URL,
                             make: (P256.Signing.PrivateKey) throws -> Certificate) throws -> (identity: SigningIdentity, created: Bool) {
        let certificateURL = directory.appendingPathComponent(certificate)
        let keyURL = directory.appendingPathComponent(key)
        if FileManager.default.fileExists(atPath: certificateURL.path) {
            return (try load(certificate: certificateURL, key: keyURL), false)
        }
        let privateKey = try KeyFile.loadOrCreate(named: key, in: directory, parse: { try P256.Signing.PrivateKey(pemRepresentation: $0) },
                                                  make: { P256.Signing.PrivateKey() }, pem: \.pemRepresentation)
        let made = try make(privateKey)
        let created = try ExclusiveFile.create(certificateURL, contents: Data(made.serializeAsPEM().pemString.utf8), mode: 0o644)
        return (try load(certificate: certificateURL, key: keyURL), created)
    }
}

/// Writes a file whole under its name, or not at all if the name exists: drafted beside it, then
/// linked (as ``KeyFile`` does), so instances sharing a directory never overwrite each other.
enum ExclusiveFile {
    /// `true` if this call created the file, `false` if it existed.
    static func create(_ url: URL, contents: Data, mode: Int) throws -> Bool {
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let draft = directory.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).\(UInt32.random(in: 0...UInt32.max))")
        try KeyFile.writeNew(draft, contents: contents, mode: mode)
        defer { unlink(draft.path) }
        guard link(draft.path, url.path) == 0 else {
            guard errno == EEXIST else { throw CocoaError(.fileWriteUnknown) }
            return false
        }
        return true
    }
}

/// The identity that signs what erx has to hand out as a CMS but nobody signed
/// (`--accept-unsigned`): its certificate says, in its name, that this is no qualified signature.
public enum DevelopmentSigner {
    public static let commonName = "erx development signer — not a qualified signature"
    public static let certificateFile = "development-signer.pem"
    public static let keyFile = "development-signer-key.pem"

    /// The server's, kept in its data directory like its other keys.
    public static func loadOrCreate(in directory: URL, now: Date = Date()) throws -> SigningIdentity {
        try DevelopmentPKI.loadOrCreate(certificate: certificateFile, key: keyFile, in: directory) { try certificate(for: $0, now: now) }.identity
    }

    /// Its self-signed certificate, valid from a day ago for twenty years.
    static func certificate(for key: P256.Signing.PrivateKey, now: Date) throws -> Certificate {
        try DevelopmentPKI.selfSigned(key: key, name: commonName, notBefore: now.addingTimeInterval(-86_400),
                                      notAfter: now.addingTimeInterval(86_400 * 365 * 20), isCA: false)
    }

    /// One for this process, when no data directory's is configured (tests, the fuzzer); made once.
    /// A failure (none is expected: a fresh P-256 key and fixed names) reaches the caller as an
    /// error, so a request that needs it is answered, never trapped.
    static var processIdentity: SigningIdentity {
        get throws { try madeForThisProcess.get() }
    }

    private static let madeForThisProcess = Result<SigningIdentity, any Error> {
        let key = P256.Signing.PrivateKey()
        return SigningIdentity(certificate: try certificate(for: key, now: Date()), key: key)
    }
}
