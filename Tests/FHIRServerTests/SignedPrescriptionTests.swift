import Crypto
import Dispensing
import FHIRFormats
import FHIRModel
@_spi(CMS) import X509
@testable import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwiftASN1
import Testing

/// `$activate` with a CMS SignedData enveloping the bundle: extracted always, verified against the
/// configured trust anchors.
@Suite struct SignedPrescriptionTests {
    struct Signer {
        let key = P256.Signing.PrivateKey()
        let certificate: Certificate

        init(name: String) throws {
            let subject = try DistinguishedName { CommonName(name) }
            certificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(3600),
                issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    KeyUsage(digitalSignature: true, keyCertSign: true)
                },
                issuerPrivateKey: .init(key)
            )
        }

        func sign(_ bytes: [UInt8]) throws -> [UInt8] {
            try CMS.sign(bytes, signatureAlgorithm: .ecdsaWithSHA256, certificate: certificate, privateKey: .init(key), detached: false)
        }
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

    @Test func theEnvelopedBundleIsExtracted() throws {
        let bundle = Array("<Bundle xmlns=\"http://hl7.org/fhir\"/>".utf8)
        let cms = try Signer(name: "Prescriber").sign(bundle)
        #expect(try SignedPrescription.encapsulatedContent(of: cms) == bundle)
        #expect(throws: (any Error).self) { try SignedPrescription.encapsulatedContent(of: Array(cms.prefix(40))) }
    }

    @Test(arguments: [true, false])
    func activateVerifiesAgainstTheAnchors(trusted: Bool) async throws {
        let signer = try Signer(name: "Prescriber")
        let anchor = trusted ? signer.certificate : try Signer(name: "Someone else").certificate
        var configured = try await TestServer(acceptUnsigned: false)
        configured.env.signedPrescriptions = SignedPrescription(trustAnchors: [anchor])
        let server = configured
        defer { Task { await server.remove() } }
        try await Application(router: server.router).test(.router) { client in
            let client = Client(client: client, format: .json, server: server)
            let doctor = try await server.token(.doctorsPractice, id: TestServer.doctorTelematikID)
            let task = try await client.send(.post, "/Task/$create", token: doctor, body: Bodies.createParameters()).resource()
            let id = try #require(task.value(of: "id"))
            let accessCode = task.children(named: "identifier").first { $0.value(of: "system") == Systems.accessCode }?.value(of: "value") ?? ""
            let bundle = try FHIRFormat.xml.write(Bodies.prescription(id: id, authoredOn: "2026-10-01"))
            let cms = try signer.sign(bundle)
            let reply = try await client.send(.post, "/Task/\(id)/$activate?ac=\(accessCode)", token: doctor, body: Self.parameters(cms: cms))
            if trusted {
                #expect(reply.status == .ok)
                #expect(try reply.resource().value(of: "status") == "ready")
                // A_19169-01: the pharmacy receives the prescriber's CMS as uploaded, to verify the QES.
                let pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
                let accepted = try await client.send(.post, "/Task/\(id)/$accept?ac=\(accessCode)", token: pharmacy).resource()
                let binary = accepted.children(named: "entry").compactMap { $0.child("resource")?.wrappedResource }.first { $0.name == "Binary" }
                #expect(binary?.value(of: "contentType") == "application/pkcs7-mime")
                #expect(binary?.value(of: "data") == Data(cms).base64EncodedString())
            } else {
                #expect(reply.status == .badRequest)
                #expect(try reply.issueExpression() == "Parameters.parameter[0].resource.data")
            }
            // The unsigned bundle is refused without --accept-unsigned; a task the trusted one made
            // ready answers 403 first, as the FD checks the task's status before the body (fd-parity §8.2).
            let unsigned = try await client.send(.post, "/Task/\(id)/$activate?ac=\(accessCode)", token: doctor,
                                                 body: Bodies.prescription(id: id, authoredOn: "2026-10-01"))
            #expect(unsigned.status == (trusted ? .forbidden : .badRequest))
        }
    }

    /// A prescription accepted unsigned reaches the pharmacy as a `GEM_ERP_PR_Binary` all the same:
    /// `application/pkcs7-mime`, a SignedData without signer around the bundle (A_19169-01).
    @Test(arguments: [0, 100, 200, 70_000])
    func theUnsignedEnvelopeUnpacksLikeASignedOne(size: Int) throws {
        let content = (0..<size).map { UInt8(truncatingIfNeeded: $0) }
        let envelope = PrescriptionEnvelope.unsigned(content)
        #expect(try SignedPrescription.encapsulatedContent(of: envelope) == content)
        let contentInfo = try DER.parse(envelope)
        guard case .constructed(let children) = contentInfo.content else { Issue.record("not constructed"); return }
        #expect(try ASN1ObjectIdentifier(derEncoded: Array(children)[0]) == [1, 2, 840, 113_549, 1, 7, 2])
    }
}
