public import Crypto
public import Dispensing
public import FHIRModel
public import Foundation
@_spi(CMS) public import X509
import FHIRFormats

/// Makes the receipt of a completed task (`GEM_ERP_PR_Bundle`): a document Bundle with the
/// Composition (beneficiary pharmacy, the in-progress → completed period), the Device that is this
/// server, the digest of the prescription, and the server's signature over all of it.
///
/// The signature is what the production service makes (A_19233-06, fd-parity.md §3.2): an
/// enveloping CAdES-BES CMS (`sigFormat` `application/pkcs7-mime`) over the receipt as FHIR XML
/// without its `signature`, signed with the server's certificate (`--receipt-certificate`, by
/// default a self-signed development certificate in the data directory). Not included: the OCSP
/// response the production service embeds for its TI certificate (a development certificate has no
/// OCSP responder).
public struct ReceiptIssuer: Sendable {
    public static let fileName = "receipt-signing-key.pem"
    public static let certificateFileName = "receipt-signing-certificate.pem"
    public let identity: SigningIdentity
    let serverVersion: String
    /// The public base URL, for the receipt's `link[self]` (`<base>/Task/<id>/$close/`, as the
    /// production service writes it, fd-parity.md §3.1); `nil`: no link.
    public var baseURL: String?

    public init(identity: SigningIdentity, serverVersion: String = ErxServer.version) {
        self.identity = identity
        self.serverVersion = serverVersion
    }

    /// Loads the key and certificate from `directory`, or makes them there on first start (the key
    /// mode 0600). A directory from before certificates keeps its key and gains a certificate for it.
    public static func loadOrCreate(in directory: URL, now: Date = Date()) throws -> ReceiptIssuer {
        ReceiptIssuer(identity: try DevelopmentPKI.loadOrCreate(certificate: certificateFileName, key: fileName, in: directory) { key in
            try DevelopmentPKI.selfSigned(key: key, name: "erx E-Rezept-Fachdienst Quittungssignatur TEST-ONLY",
                                          notBefore: now.addingTimeInterval(-86_400), notAfter: now.addingTimeInterval(86_400 * 365 * 20), isCA: false)
        }.identity)
    }

    /// The operator's own pair (`--receipt-key`, `--receipt-certificate`): PEM, a P-256 key.
    public static func load(key: URL, certificate: URL) throws -> ReceiptIssuer {
        ReceiptIssuer(identity: try DevelopmentPKI.load(certificate: certificate, key: key))
    }

    public var publicKey: P256.Signing.PublicKey { identity.key.publicKey }
    public var certificate: Certificate { identity.certificate }

    /// Throws when the receipt cannot be written as FHIR (a bug), so `$close` stores nothing then.
    public func receipt(for task: PrescriptionTask) throws -> Element {
        let now = task.completedAt ?? task.lastModified
        let deviceURL = "urn:uuid:\(Self.uuid(from: "device"))"
        let compositionID = Self.uuid(from: "composition-\(task.id.rawValue)")
        // Every fullUrl and every reference inside the receipt is a `urn:uuid:` (A_19233-06; the
        // production service's receipts, which gematik's suite checks entry by entry).
        let digestID = TaskDocuments.uuid(.prescriptionDigest, of: task.id)
        // The prescription CMS's messageDigest attribute: the hash of the signed KBV bundle
        // (fd-parity.md §3.1), so a billing centre can match the receipt to the prescription.
        // A task activated before erx kept a CMS for every prescription: the hash of the bundle's XML.
        let digest = Data(task.signedPrescription.flatMap { try? CMSContents($0).messageDigest }
            ?? task.prescription.flatMap { try? WireFormat.xml.fhirFormat.write($0) }.map { Array(SHA256.hash(data: $0)) } ?? [])
        let composition = Element.complex("Composition", [
            .primitive("id", compositionID),
            .meta(profile: "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_Composition|1.6"),
            task.owner.map { .extension(url: "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_EX_Beneficiary",
                                        .identifier("valueIdentifier", system: Systems.telematikID, value: $0.rawValue)) },
            .primitive("status", "final"),
            .complex("type", [.coding(system: TaskResource.documentType, code: "3", display: "Receipt")]),
            .primitive("date", FHIRInstant.format(now)),
            .reference("author", deviceURL),
            .primitive("title", "Quittung"),
            .complex("event", [.complex("period", [
                task.acceptedAt.map { .primitive("start", FHIRInstant.format($0)) },
                .primitive("end", FHIRInstant.format(now)),
            ])]),
            .complex("section", [.reference("entry", "urn:uuid:\(digestID)")]),
        ])
        let device = Self.device(version: serverVersion)
        let digestBinary = Element.complex("Binary", [
            .primitive("id", digestID),
            .complex("meta", [
                .primitive("versionId", "1"),
                .primitive("profile", "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_Digest|1.6"),
            ]),
            .primitive("contentType", "application/octet-stream"),
            .primitive("data", digest.base64EncodedString()),
        ])
        var bundle = Element.complex("Bundle", [
            .primitive("id", TaskDocuments.uuid(.receipt, of: task.id)),
            .meta(profile: "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_Bundle|1.6"),
            .identifier(system: Systems.prescriptionID, value: task.id.rawValue),
            .primitive("type", "document"),
            .primitive("timestamp", FHIRInstant.format(now)),
            baseURL.map { .complex("link", [.primitive("relation", "self"), .primitive("url", "\($0)/Task/\(task.id.rawValue)/$close/")]) },
            .entry(fullURL: "urn:uuid:\(compositionID)", resource: composition),
            .entry(fullURL: deviceURL, resource: device),
            .entry(fullURL: "urn:uuid:\(digestID)", resource: digestBinary),
        ])
        // Signed as FHIR XML without `signature`, after all entries are set (IBM CloseTaskHandler).
        let signed = try identity.sign(WireFormat.xml.fhirFormat.write(bundle), signingTime: now)
        bundle.children.append(.complex("signature", [
            .coding("type", system: "urn:iso-astm:E1762-95:2013", code: "1.2.840.10065.1.12.1.1", display: "Author's Signature"),
            .primitive("when", FHIRInstant.format(now)),
            .reference("who", deviceURL),
            .primitive("sigFormat", "application/pkcs7-mime"),
            .primitive("data", Data(signed).base64EncodedString()),
        ]))
        return bundle
    }

    /// The insurant's copy of the prescription (A_19029-06, fd-parity.md §4.2): the KBV bundle
    /// under the patient-confirmation id, with the server's verification signature over it, so the
    /// insurant's app can show that it came from the service unchanged. As the production service:
    /// a JWS with detached payload over the bundle's JSON (`sigFormat` `application/jose`), the
    /// signer's certificate in `x5c` — the receipt's certificate; ES256, as swift-crypto has no
    /// brainpool (the service writes BP256R1).
    public func patientConfirmation(of prescription: Element, id: String, deviceURL: String, now: Date) throws -> Element {
        var bundle = prescription
        bundle.children.removeAll { $0.name == "signature" || $0.name == "id" }
        bundle.children.insert(.primitive("id", id), at: 0)
        bundle.children.append(.complex("signature", [
            .coding("type", system: "urn:iso-astm:E1762-95:2013", code: "1.2.840.10065.1.12.1.5", display: "Verification Signature"),
            .primitive("when", FHIRInstant.format(now)),
            .reference("who", deviceURL),
            .primitive("targetFormat", "application/fhir+json"),
            .primitive("sigFormat", "application/jose"),
            .primitive("data", try sign(bundle)),
        ]))
        return bundle
    }

    /// The Device that is this server (`GEM_ERP_PR_Device`, id `1`): the receipt's author and the
    /// answer of `GET /Device` (A_20744).
    public static func device(version: String) -> Element {
        .complex("Device", [
            .primitive("id", "1"),
            .meta(profile: "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_Device|1.6"),
            .primitive("status", "active"),
            .primitive("serialNumber", version),
            .complex("deviceName", [.primitive("name", "erx E-Rezept-Fachdienst"), .primitive("type", "user-friendly-name")]),
            .complex("version", [.primitive("value", version)]),
        ])
    }

    /// The JWS (`header..signature`, payload detached) over the bundle's JSON, base64-encoded.
    func sign(_ bundle: Element) throws -> String {
        let payload = try WireFormat.json.fhirFormat.write(bundle)
        let certificate = try CAdESSigner.der(identity.certificate)
        let header = Self.base64URL(Data(#"{"alg":"ES256","x5c":["\#(Data(certificate).base64EncodedString())"],"typ":"application/jose","cty":"application/fhir+json;charset=utf-8"}"#.utf8))
        let signingInput = header + "." + Self.base64URL(Data(payload))
        let signature = try identity.key.signature(for: Data(signingInput.utf8)).rawRepresentation
        return Data((header + ".." + Self.base64URL(signature)).utf8).base64EncodedString()
    }

    /// Checks a receipt's CAdES signature: the enveloped content is the receipt's XML without its
    /// signature, and the CMS verifies against `certificate` as trust anchor.
    public static func verifyReceipt(_ receipt: Element, certificate: Certificate) async -> Bool {
        guard let data = receipt.child("signature")?.value(of: "data"), let cms = Data(base64Encoded: data),
              let contents = try? CMSContents(Array(cms))
        else { return false }
        var unsigned = receipt
        unsigned.children.removeAll { $0.name == "signature" }
        guard let xml = try? WireFormat.xml.fhirFormat.write(unsigned), xml == contents.content else { return false }
        let result = await CMS.isValidSignature(dataBytes: contents.content, signatureBytes: Array(cms),
                                                trustRoots: CertificateStore([certificate]), allowAttachedContent: true) {
            RFC5280Policy(validationTime: contents.signingTime ?? Date())
        }
        if case .success = result { return true }
        return false
    }

    /// Checks the JWS of an insurant's copy against `publicKey`; for tests and for clients that want to.
    public static func verify(_ receipt: Element, publicKey: P256.Signing.PublicKey) -> Bool {
        guard let data = receipt.child("signature")?.value(of: "data"), let decoded = Data(base64Encoded: data),
              let jws = String(data: decoded, encoding: .utf8)
        else { return false }
        let parts = jws.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].isEmpty, let signatureBytes = base64URLDecode(String(parts[2])),
              let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureBytes)
        else { return false }
        var unsigned = receipt
        unsigned.children.removeAll { $0.name == "signature" }
        guard let payload = try? WireFormat.json.fhirFormat.write(unsigned) else { return false }
        let signingInput = String(parts[0]) + "." + base64URL(Data(payload))
        return publicKey.isValidSignature(signature, for: Data(signingInput.utf8))
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64URLDecode(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }

    /// A stable UUID (name-based, from SHA-256) so a receipt's ids do not change between fetches.
    static func uuid(from name: String) -> String {
        TaskDocuments.nameBasedUUID(name, namespace: "erx-receipt:")
    }
}
