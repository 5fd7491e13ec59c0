import Crypto
import Dispensing
import FHIRModel
@_spi(CMS) import X509
@testable import FHIRServer
import Foundation
import Testing

/// The receipt's signing identity (A_19233-06, fd-parity.md §3.2): made in the data directory, kept
/// across starts, or the operator's own pair.
@Suite struct ReceiptSignatureTests {
    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("erx-receipt-\(UUID().uuidString)")
    }

    /// A data directory from before receipts were CAdES keeps its key and gains a certificate for it.
    @Test func anExistingReceiptKeyGainsACertificate() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let key = P256.Signing.PrivateKey()
        try key.pemRepresentation.write(to: directory.appendingPathComponent(ReceiptIssuer.fileName), atomically: true, encoding: .utf8)
        let issuer = try ReceiptIssuer.loadOrCreate(in: directory)
        #expect(issuer.publicKey.rawRepresentation == key.publicKey.rawRepresentation)
        #expect(issuer.certificate.publicKey == Certificate.PublicKey(key.publicKey))
        #expect(try ReceiptIssuer.loadOrCreate(in: directory).certificate == issuer.certificate, "kept across starts")
    }

    /// `--receipt-key`/`--receipt-certificate`: the pair must belong together; a receipt signed with
    /// it verifies against that certificate only.
    @Test func theOperatorsPairSignsReceipts() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pair = try DevelopmentPKI.loadOrCreateSigner(named: "fd-osig", in: directory).identity
        let certificate = directory.appendingPathComponent(DevelopmentPKI.certificateFile("fd-osig"))
        let issuer = try ReceiptIssuer.load(key: directory.appendingPathComponent(DevelopmentPKI.keyFile("fd-osig")), certificate: certificate)
        #expect(issuer.certificate == pair.certificate)
        let other = try DevelopmentPKI.loadOrCreateSigner(named: "other", in: directory).identity
        #expect(throws: DevelopmentPKI.MismatchedKey.self) {
            try ReceiptIssuer.load(key: directory.appendingPathComponent(DevelopmentPKI.keyFile("other")), certificate: certificate)
        }
        let ca = try DevelopmentPKI.loadOrCreateCA(in: directory).identity

        var task = PrescriptionTask(id: PrescriptionID(flowType: .gkvPharmacy, serial: 1), status: .completed, accessCode: nil, createdAt: Date().addingTimeInterval(-600))
        task.completedAt = Date()
        let bundle = Array("<Bundle xmlns=\"http://hl7.org/fhir\"/>".utf8)
        task.prescription = Element(name: "Bundle", children: [])
        task.signedPrescription = try pair.sign(bundle, signingTime: Date())
        let receipt = try issuer.receipt(for: task)
        #expect(await ReceiptIssuer.verifyReceipt(receipt, certificate: ca.certificate))
        let digest = receipt.children(named: "entry").compactMap { $0.child("resource")?.wrappedResource }.first { $0.name == "Binary" }
        #expect(digest?.value(of: "data") == Data(SHA256.hash(data: bundle)).base64EncodedString(), "the prescription CMS's messageDigest")
        #expect(await !ReceiptIssuer.verifyReceipt(receipt, certificate: other.certificate))
        var tampered = receipt
        tampered.children.removeAll { $0.name == "timestamp" }
        #expect(await !ReceiptIssuer.verifyReceipt(tampered, certificate: ca.certificate))
    }
}
