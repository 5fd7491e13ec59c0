import Crypto
import Dispensing
import FHIRFormats
import FHIRModel
@_spi(CMS) import X509
@testable import FHIRServer
import Foundation
import StoreTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwiftASN1
import Synchronization
import Testing

/// `$activate` with a CMS SignedData enveloping the bundle, signed with the development PKI and
/// verified against the configured trust anchors (fd-parity.md §8.2 row 1), and what the pharmacy
/// gets back of it (§2.2–§2.4).
@Suite struct SignedPrescriptionTests {
    /// A development PKI in a fresh directory: its CA is the server's trust anchor.
    struct PKI {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-pki-\(UUID().uuidString)")
        let ca: SigningIdentity
        let prescriber: SigningIdentity

        init() throws {
            ca = try DevelopmentPKI.loadOrCreateCA(in: directory).identity
            prescriber = try DevelopmentPKI.loadOrCreateSigner(in: directory).identity
        }

        func signer(_ profession: SignerProfession = .arzt, notBefore: Date? = nil, notAfter: Date? = nil) throws -> SigningIdentity {
            try DevelopmentPKI.loadOrCreateSigner(named: "signer-\(UUID().uuidString)", in: directory, profession: profession,
                                                  notBefore: notBefore, notAfter: notAfter).identity
        }

        var caFile: URL { directory.appendingPathComponent(DevelopmentPKI.caCertificateFile) }
    }

    static func parameters(cms: [UInt8]) -> Element {
        .init(name: "Parameters", children: [.init(name: "parameter", children: [
            .init(name: "name", value: "ePrescription"),
            .init(name: "resource", children: [.init(name: "Binary", children: [
                .init(name: "contentType", value: "application/pkcs7-mime"),
                .init(name: "data", value: Data(cms).base64EncodedString()),
            ])]),
        ])])
    }

    /// Today in Europe/Berlin, so the signing day and `authoredOn` agree (A_22487).
    static var today: String {
        let formatter = DateFormatter()
        formatter.timeZone = TimeZone(identifier: "Europe/Berlin")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date())
    }

    static func binary(in bundle: Element) -> Element? {
        bundle.children(named: "entry").compactMap { $0.child("resource")?.wrappedResource }.first { $0.name == "Binary" }
    }

    static func withServer(pki: PKI, format: WireFormat, _ body: @Sendable (Client) async throws -> Void) async throws {
        var configured = try await TestServer(acceptUnsigned: false)
        configured.env.signedPrescriptions = SignedPrescription(trustAnchors: [pki.ca.certificate])
        let server = configured
        defer { Task { await server.remove(); try? FileManager.default.removeItem(at: pki.directory) } }
        try await Application(router: server.router).test(.router) { client in
            try await body(Client(client: client, format: format, server: server))
        }
    }

    /// A_19020, A_20159-04, A_19169-01, A_24179-01, A_19233-06: a prescription signed with the
    /// development PKI activates; `$accept` and the `?ac=` re-fetch hand out the posted CMS byte for
    /// byte, which `openssl cms -verify` accepts against the development CA; the receipt's CAdES
    /// signature verifies against the server's certificate and envelops the receipt's XML.
    @Test(arguments: [WireFormat.json, .xml])
    func signedPrescriptionRoundTripsAndTheReceiptIsCAdES(format: WireFormat) async throws {
        let pki = try PKI()
        try await Self.withServer(pki: pki, format: format) { client in
            let factory = try await TaskFactory(client: client)
            let posted = Mutex<[UInt8]>([])
            let bundleBytes = Mutex<[UInt8]>([])
            var prepared = try await factory.prepare(.ready, kvnr: testKVNR(22)) { id, kvnr in
                let bundle = try FHIRFormat.xml.write(Bodies.kbvPrescription(id: id, kvnr: kvnr, authoredOn: Self.today))
                let cms = try pki.prescriber.sign(bundle, signingTime: Date())
                posted.withLock { $0 = cms }
                bundleBytes.withLock { $0 = bundle }
                return Self.parameters(cms: cms)
            }
            let cms = posted.withLock { $0 }
            let bundle = bundleBytes.withLock { $0 }
            // `$accept`: the Binary holds the posted CMS byte for byte (fd-parity §2.2, §2.3).
            let accepted = try await client.send(.post, "/Task/\(prepared.id)/$accept?ac=\(prepared.accessCode)", token: factory.pharmacy)
            #expect(accepted.status == .ok)
            let acceptedBundle = try accepted.resource()
            let acceptedBinary = try #require(Self.binary(in: acceptedBundle))
            #expect(acceptedBinary.value(of: "contentType") == "application/pkcs7-mime")
            let acceptedCMS = try #require(acceptedBinary.value(of: "data").flatMap { Data(base64Encoded: $0) })
            #expect(Array(acceptedCMS) == cms)
            let acceptedTask = try #require(acceptedBundle.child("entry")?.child("resource")?.wrappedResource)
            prepared.secret = acceptedTask.children(named: "identifier").first { $0.value(of: "system") == Systems.secret }?.value(of: "value") ?? ""
            // What a pharmacy's software does with it.
            let verified = try OpenSSL.verify(cms: Array(acceptedCMS), caFile: pki.caFile)
            #expect(verified.status == 0, "\(verified.error)")
            #expect(verified.output == bundle)
            // `?ac=` re-fetch: the same CMS under urn:uuid (fd-parity §2.4).
            let refetched = try await client.send(.get, "/Task/\(prepared.id)?ac=\(prepared.accessCode)", token: factory.pharmacy)
            #expect(refetched.status == .ok)
            let refetchedBundle = try refetched.resource()
            let binary = try #require(Self.binary(in: refetchedBundle))
            #expect(binary.value(of: "data") == Data(cms).base64EncodedString())
            let binaryEntry = refetchedBundle.children(named: "entry").first { $0.child("resource")?.wrappedResource?.name == "Binary" }
            #expect(binaryEntry?.value(of: "fullUrl") == "urn:uuid:\(binary.value(of: "id") ?? "")")

            _ = try await client.send(.post, "/Task/\(prepared.id)/$dispense?secret=\(prepared.secret)", token: factory.pharmacy,
                                      body: Bodies.dispense(id: prepared.id, count: 1, kvnr: testKVNR(22)))
            let closed = try await client.send(.post, "/Task/\(prepared.id)/$close?secret=\(prepared.secret)", token: factory.pharmacy)
            #expect(closed.status == .ok)
            let receipt = try closed.resource()
            #expect(receipt.descendant("signature", "sigFormat")?.value == "application/pkcs7-mime")
            // fd-parity §3.1: the receipt's self link, as the production service writes it.
            #expect(receipt.descendant("link", "url")?.value == "http://erx.test/Task/\(prepared.id)/$close/")
            #expect(receipt.descendant("signature", "type", "code")?.value == "1.2.840.10065.1.12.1.1")
            let device = receipt.children(named: "entry").first { $0.child("resource")?.wrappedResource?.name == "Device" }
            #expect(receipt.descendant("signature", "who", "reference")?.value == device?.value(of: "fullUrl"))
            #expect(device?.value(of: "fullUrl")?.hasPrefix("urn:uuid:") == true)
            let when = try #require(receipt.descendant("signature", "when")?.value)
            #expect(when.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00/) != nil)
            // GEM_ERP_PR_Digest: the prescription CMS's messageDigest (SHA-256 of the signed bundle).
            let digest = try #require(Self.binary(in: receipt)?.value(of: "data"))
            #expect(Data(base64Encoded: digest) == Data(SHA256.hash(data: bundle)))
            #expect(try CMSContents(cms).messageDigest == Array(SHA256.hash(data: bundle)))
            // The receipt's CMS against the server's certificate; its content is the XML without signature.
            let receiptCMS = try #require(receipt.descendant("signature", "data")?.value.flatMap { Data(base64Encoded: $0) })
            let certificateFile = client.server.directory.appendingPathComponent(ReceiptIssuer.certificateFileName)
            let receiptVerified = try OpenSSL.verify(cms: Array(receiptCMS), caFile: certificateFile)
            #expect(receiptVerified.status == 0, "\(receiptVerified.error)")
            var unsigned = receipt
            unsigned.children.removeAll { $0.name == "signature" }
            #expect(receiptVerified.output == (try FHIRFormat.xml.write(unsigned)))
            #expect(await ReceiptIssuer.verifyReceipt(receipt, certificate: client.server.receipts.certificate))
        }
    }

    /// A_19020, A_20704, A_20159-04, A_19225-02: a prescription the FD would refuse answers 400 with
    /// its text and `VAU-Error-Code: invalid_prescription`.
    @Test(arguments: [WireFormat.json, .xml])
    func refusedSignaturesAnswerAsTheFD_A_20159_04(format: WireFormat) async throws {
        let pki = try PKI()
        let year: TimeInterval = 86_400 * 365
        let expired = try pki.signer(notBefore: Date().addingTimeInterval(-2 * year), notAfter: Date().addingTimeInterval(-year))
        let apotheker = try pki.signer(.apotheker)
        // Another development CA: same name as the trusted one, another key.
        let stranger = try PKI()
        defer { try? FileManager.default.removeItem(at: stranger.directory) }
        let selfSignedKey = P256.Signing.PrivateKey()
        let selfSigned = SigningIdentity(certificate: try DevelopmentPKI.selfSigned(
            key: selfSignedKey, name: "Someone else", notBefore: Date().addingTimeInterval(-3600), notAfter: Date().addingTimeInterval(3600), isCA: false
        ), key: selfSignedKey)
        typealias Case = (name: String, make: @Sendable ([UInt8]) throws -> [UInt8], text: String, code: String?)
        let cases: [Case] = [
            ("tampered (A_19020)", { bundle in
                var cms = try pki.prescriber.sign(bundle, signingTime: Date())
                let index = try #require(CMSContents.range(of: bundle, in: cms)).lowerBound + 10
                cms[index] ^= 0x01
                return cms
            }, SignedPrescription.Text.invalidSignature, nil),
            ("not a CMS (A_19020)", { Array($0.prefix(100)) }, SignedPrescription.Text.unreadable, nil),
            ("no signing time (A_20159-04)", { try CAdESSigner.sign($0, identity: pki.prescriber, signingTime: nil) },
             SignedPrescription.Text.noSigningTime, nil),
            ("expired at signing time (A_20159-04)", { try expired.sign($0, signingTime: Date()) }, SignedPrescription.Text.certificateNotValid, nil),
            ("signing-certificate attribute names another certificate (A_20159-04)", {
                try CAdESSigner.sign($0, identity: pki.prescriber, signingTime: Date(), namingInstead: pki.ca.certificate)
            }, SignedPrescription.Text.invalidSignature, nil),
            ("unknown issuer (A_20159-04)", { try selfSigned.sign($0, signingTime: Date()) }, SignedPrescription.Text.issuerUnknown, nil),
            ("issuer of the same name, other key (A_20159-04)", { try stranger.prescriber.sign($0, signingTime: Date()) },
             SignedPrescription.Text.issuerKeyUnknown, nil),
            ("Apotheker for 160 (A_19225-02)", { try apotheker.sign($0, signingTime: Date()) }, SignedPrescription.Text.profession,
             "TIFLOW_SIGNATURE_INVALID_ISSUING_ROLE"),
        ]
        try await Self.withServer(pki: pki, format: format) { client in
            let factory = try await TaskFactory(client: client)
            for row in cases {
                let prepared = try await factory.prepare(.draft)
                let bundle = try FHIRFormat.xml.write(Bodies.kbvPrescription(id: prepared.id, kvnr: testKVNR(22), authoredOn: Self.today))
                let reply = try await client.send(.post, "/Task/\(prepared.id)/$activate?ac=\(prepared.accessCode)", token: factory.doctor,
                                                  body: Self.parameters(cms: try row.make(bundle)))
                #expect(reply.status == .badRequest, "\(row.name)")
                #expect(reply.headers[HTTPField.Name("VAU-Error-Code")!] == "invalid_prescription", "\(row.name)")
                let issue = try reply.resource().child("issue")
                #expect(issue?.descendant("details", "text")?.value == row.text, "\(row.name)")
                if let code = row.code {
                    #expect(issue?.descendant("details", "coding", "code")?.value == code, "\(row.name)")
                }
            }
        }
    }

    /// A_22487: the signing day (Europe/Berlin) must be the `authoredOn` day — a bundle authored
    /// yesterday and signed today is refused (400), over HTTP with a real signature.
    @Test(arguments: [WireFormat.json, .xml])
    func theSigningDayMustBeTheAuthoredOnDay_A_22487(format: WireFormat) async throws {
        let pki = try PKI()
        try await Self.withServer(pki: pki, format: format) { client in
            let factory = try await TaskFactory(client: client)
            let prepared = try await factory.prepare(.draft)
            let berlin = TimeZone(identifier: "Europe/Berlin")!
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = berlin
            let components = calendar.dateComponents([.year, .month, .day], from: Date().addingTimeInterval(-86_400))
            let yesterday = String(format: "%04d-%02d-%02d", components.year!, components.month!, components.day!)
            let bundle = try FHIRFormat.xml.write(Bodies.kbvPrescription(id: prepared.id, kvnr: testKVNR(22), authoredOn: yesterday))
            let reply = try await client.send(.post, "/Task/\(prepared.id)/$activate?ac=\(prepared.accessCode)", token: factory.doctor,
                                              body: Self.parameters(cms: try pki.prescriber.sign(bundle, signingTime: Date())))
            #expect(reply.status == .badRequest)
            #expect(try reply.resource().child("issue")?.descendant("details", "text")?.value
                    == "Ausstellungsdatum und Signaturzeitpunkt weichen voneinander ab, müssen aber taggleich sein")
        }
    }

    /// A_19025-03: a correctly signed bundle that claims no `KBV_PR_ERP_Bundle` profile is refused by
    /// the profile validation (`FHIR-Validation error`, `SVC_VALIDATION_FAILED`) — only the development
    /// mode `--accept-unsigned` admits such minimal bundles.
    @Test(arguments: [WireFormat.json, .xml])
    func aSignedBundleWithoutKBVProfileIsRefused_A_19025_03(format: WireFormat) async throws {
        let pki = try PKI()
        try await Self.withServer(pki: pki, format: format) { client in
            let factory = try await TaskFactory(client: client)
            let prepared = try await factory.prepare(.draft)
            let bundle = try FHIRFormat.xml.write(Bodies.prescription(id: prepared.id, authoredOn: Self.today))
            let reply = try await client.send(.post, "/Task/\(prepared.id)/$activate?ac=\(prepared.accessCode)", token: factory.doctor,
                                              body: Self.parameters(cms: try pki.prescriber.sign(bundle, signingTime: Date())))
            #expect(reply.status == .badRequest)
            #expect(reply.headers[HTTPField.Name("VAU-Error-Code")!] == nil)
            let issue = try reply.resource().child("issue")
            #expect(issue?.descendant("details", "text")?.value == "FHIR-Validation error")
            #expect(issue?.descendant("details", "coding", "code")?.value == "SVC_VALIDATION_FAILED")
            #expect(issue?.descendant("expression")?.value == "Bundle.meta.profile")
        }
    }

    /// A_19225-02, A_27812, A_25990: who may sign which flow type.
    @Test func professionsByFlowType_A_19225_02_A_27812() {
        #expect(SignerProfession.allowed(for: .gkvPharmacy) == [.arzt, .zahnarzt])
        #expect(SignerProfession.allowed(for: .pkvDirectAssignment) == [.arzt, .zahnarzt])
        #expect(SignerProfession.allowed(for: .tPrescription) == [.arzt], "A_27812: no Zahnarzt for 166")
        #expect(SignerProfession.allowed(for: .diga).isSuperset(of: [.psychotherapeut, .psychologischerPsychotherapeut, .kinderUndJugendlichenpsychotherapeut]))
        #expect(!SignerProfession.allowed(for: .gkvPharmacy).contains(.apotheker))
    }

    /// A_27812: a Zahnarzt's signature on a T-Rezept (166) is refused, checked on the verifier itself
    /// (erx does not run flow 166).
    @Test func zahnarztMayNotSignATRezept_A_27812() async throws {
        let pki = try PKI()
        defer { try? FileManager.default.removeItem(at: pki.directory) }
        let zahnarzt = try pki.signer(.zahnarzt)
        let cms = try zahnarzt.sign(Array("<Bundle xmlns=\"http://hl7.org/fhir\"/>".utf8), signingTime: Date())
        let verifier = SignedPrescription(trustAnchors: [pki.ca.certificate])
        await #expect(throws: DispensingError.prescriptionRefused(.init(.signature, text: SignedPrescription.Text.profession,
                                                                         detailCode: "TIFLOW_SIGNATURE_INVALID_ISSUING_ROLE", expression: "x",
                                                                         diagnostics: "Allowed for flow type 166: 1.2.276.0.76.4.30; the certificate names: 1.2.276.0.76.4.31."))) {
            _ = try await verifier.verify(cms, flowType: .tPrescription, expression: "x")
        }
        #expect(try await verifier.verify(cms, flowType: .gkvPharmacy, expression: "x").signedAt != nil)
    }

    /// A_19225-02: only a qualified signature certificate (key usage nonRepudiation) signs a
    /// prescription; the same card's authentication certificate names the same profession but is
    /// refused.
    @Test func anAuthenticationCertificateMayNotSign_A_19225_02() async throws {
        let pki = try PKI()
        defer { try? FileManager.default.removeItem(at: pki.directory) }
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName("Dr. Erx AUT TEST-ONLY") }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(86_400),
            issuer: pki.ca.certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(KeyUsage(digitalSignature: true))
                AuthorityKeyIdentifier(keyIdentifier: SubjectKeyIdentifier(hash: pki.ca.certificate.publicKey).keyIdentifier)
                Certificate.Extension(oid: try ASN1ObjectIdentifier(dotRepresentation: CMSIdentifiers.admission), critical: false,
                                      value: ArraySlice(Admission.encode(.arzt, registrationNumber: "1-838382201")))
            },
            issuerPrivateKey: .init(pki.ca.key))
        let cms = try SigningIdentity(certificate: certificate, key: key).sign(Array("<Bundle xmlns=\"http://hl7.org/fhir\"/>".utf8), signingTime: Date())
        let verifier = SignedPrescription(trustAnchors: [pki.ca.certificate])
        await #expect(throws: DispensingError.self) { _ = try await verifier.verify(cms, flowType: .gkvPharmacy, expression: "x") }
        // The same with the prescriber's QES certificate verifies.
        let qes = try pki.prescriber.sign(Array("<Bundle xmlns=\"http://hl7.org/fhir\"/>".utf8), signingTime: Date())
        #expect(try await verifier.verify(qes, flowType: .gkvPharmacy, expression: "x").signedAt != nil)
    }

    /// A CMS made by another tool verifies too: OpenSSL's CAdES-BES (`-cades`).
    @Test func aCAdESSignatureMadeByOpenSSLVerifies() async throws {
        let pki = try PKI()
        defer { try? FileManager.default.removeItem(at: pki.directory) }
        let bundle = Array("<Bundle xmlns=\"http://hl7.org/fhir\"/>".utf8)
        let input = pki.directory.appendingPathComponent("bundle.xml")
        let output = pki.directory.appendingPathComponent("bundle.p7s")
        try Data(bundle).write(to: input)
        let status = try OpenSSL.run(["cms", "-sign", "-binary", "-nodetach", "-cades", "-md", "sha256", "-outform", "DER",
                                      "-in", input.path, "-out", output.path,
                                      "-signer", pki.directory.appendingPathComponent(DevelopmentPKI.certificateFile(DevelopmentPKI.defaultSigner)).path,
                                      "-inkey", pki.directory.appendingPathComponent(DevelopmentPKI.keyFile(DevelopmentPKI.defaultSigner)).path])
        #expect(status == 0)
        let cms = Array(try Data(contentsOf: output))
        let verified = try await SignedPrescription(trustAnchors: [pki.ca.certificate]).verify(cms, flowType: .gkvPharmacy, expression: "x")
        #expect(verified.content == bundle)
        #expect(verified.signedAt != nil)
    }

    /// Validity is judged at the signing time, not now (A_20159-04): a back-dated signature from
    /// before the certificate's start is refused; without anchors the signing time is still read.
    @Test func validityIsCheckedAtTheSigningTime() async throws {
        let pki = try PKI()
        defer { try? FileManager.default.removeItem(at: pki.directory) }
        let bundle = Array("<Bundle xmlns=\"http://hl7.org/fhir\"/>".utf8)
        let signingTime = Date(timeIntervalSince1970: 1_700_000_000)
        let early = try pki.prescriber.sign(bundle, signingTime: signingTime)
        let verifier = SignedPrescription(trustAnchors: [pki.ca.certificate])
        await #expect(throws: DispensingError.self) { _ = try await verifier.verify(early, flowType: .gkvPharmacy, expression: "x") }
        // The signer was valid then, its CA not yet: the chain fails at the signing time.
        let year: TimeInterval = 86_400 * 365
        let older = try pki.signer(notBefore: Date().addingTimeInterval(-2 * year), notAfter: Date().addingTimeInterval(year))
        let beforeTheCA = try older.sign(bundle, signingTime: Date().addingTimeInterval(-1.5 * year))
        await #expect(throws: DispensingError.prescriptionRefused(.init(.signature, text: SignedPrescription.Text.chainInvalid, expression: "x"))) {
            _ = try await verifier.verify(beforeTheCA, flowType: .gkvPharmacy, expression: "x")
        }
        let unverified = try await SignedPrescription(trustAnchors: nil).verify(early, flowType: .gkvPharmacy, expression: "x")
        #expect(unverified.content == bundle)
        #expect(unverified.signedAt == signingTime)
    }

    /// A brainpool signature (as real HBA cards make) is refused with the service's text for a
    /// signature that does not verify, and says why: swift-crypto has no brainpool curves.
    @Test func brainpoolSignaturesAreRefusedClearly() async throws {
        let pki = try PKI()
        defer { try? FileManager.default.removeItem(at: pki.directory) }
        let bundle = pki.directory.appendingPathComponent("bundle.xml")
        try Data("<Bundle xmlns=\"http://hl7.org/fhir\"/>".utf8).write(to: bundle)
        let key = pki.directory.appendingPathComponent("bp-key.pem")
        let certificate = pki.directory.appendingPathComponent("bp.pem")
        let cms = pki.directory.appendingPathComponent("bp.p7s")
        #expect(try OpenSSL.run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1", "-subj", "/CN=Brainpool TEST-ONLY",
                                 "-nodes", "-keyout", key.path, "-out", certificate.path, "-days", "2"]) == 0)
        #expect(try OpenSSL.run(["cms", "-sign", "-binary", "-nodetach", "-cades", "-outform", "DER", "-in", bundle.path,
                                 "-signer", certificate.path, "-inkey", key.path, "-out", cms.path]) == 0)
        let verifier = SignedPrescription(trustAnchors: [pki.ca.certificate])
        do {
            _ = try await verifier.verify(Array(try Data(contentsOf: cms)), flowType: .gkvPharmacy, expression: "x")
            Issue.record("a brainpool signature was accepted")
        } catch DispensingError.prescriptionRefused(let refusal) {
            #expect(refusal.text == SignedPrescription.Text.invalidSignature)
            #expect(refusal.diagnostics?.contains("brainpool") == true)
        }
    }

    /// The Admission extension round-trips: what dev-pki writes is what the check reads.
    @Test func admissionExtensionNamesTheProfession() throws {
        let value = Admission.encode(.zahnarzt, registrationNumber: "2-883110000092414")
        #expect(try Admission.professionOIDs(in: value) == [SignerProfession.zahnarzt.rawValue])
    }

    /// `--accept-unsigned`: the pharmacy still gets a CMS, signed by the server's development signer
    /// whose certificate says it is no qualified signature; `openssl cms -verify` unpacks it.
    @Test func anUnsignedPrescriptionIsHandedOutInTheDevelopmentSignersCMS() async throws {
        let server = try await TestServer(acceptUnsigned: true)
        defer { Task { await server.remove() } }
        try await Application(router: server.router).test(.router) { client in
            let client = Client(client: client, format: .xml, server: server)
            let factory = try await TaskFactory(client: client)
            let prepared = try await factory.prepare(.ready)
            let accepted = try await client.send(.post, "/Task/\(prepared.id)/$accept?ac=\(prepared.accessCode)", token: factory.pharmacy)
            let data = try #require(Self.binary(in: try accepted.resource())?.value(of: "data").flatMap { Data(base64Encoded: $0) })
            let signers = try CMSSignature(derEncoded: Array(data)).signers
            #expect(signers.first?.certificate.subject.description.contains(DevelopmentSigner.commonName) == true)
            let content = try CMSContents(Array(data)).content
            #expect(try FHIRFormat.xml.read(content).resource.name == "Bundle")
            let signerFile = server.directory.appendingPathComponent("process-signer.pem")
            try DevelopmentSigner.processIdentity.certificate.serializeAsPEM().pemString.write(to: signerFile, atomically: true, encoding: .utf8)
            let verified = try OpenSSL.verify(cms: Array(data), caFile: signerFile)
            #expect(verified.status == 0, "\(verified.error)")
            #expect(verified.output == content)
        }
    }
}

extension CMSContents {
    /// Where `needle` sits in `haystack` (to tamper with the signed content in place).
    static func range(of needle: [UInt8], in haystack: [UInt8]) -> Range<Int>? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start..<(start + needle.count)
        }
        return nil
    }
}
