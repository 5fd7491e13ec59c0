import Crypto
import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TICrypto
import VAUProtocol

/// The VAU tunnel over real HTTP (issue 25; fd-messaging-transport §4): the pharmacy workflow and
/// an insurant's read inside it, in JSON and XML, with BP256R1 tokens of an IDP key as the only
/// accepted tokens (`--auth idp:`), as a pharmacy system and an insurant's app send them.
@Suite struct VAUTunnelTests {
    struct Setup {
        let server: TestServer
        let tunnel: VAUTestTunnel
    }

    static func setup(transport: Transport = .both) async throws -> Setup {
        var server = try await TestServer()
        let key = try BrainpoolP256r1.PrivateKey()
        server.env.vau = VAUSettings(transport: transport, key: key, certificateDER: Array("certificate".utf8))
        let tunnel = VAUTestTunnel(serverPoint: key.uncompressedPublicPoint)
        return Setup(server: server, tunnel: tunnel)
    }

    @Test(arguments: [WireFormat.json, .xml])
    func A_20163_thePharmacyWorkflowAndAnInsurantsReadRunInsideTheTunnel(format: WireFormat) async throws {
        let setup = try await Self.setup(transport: .vau)
        let server = setup.server
        defer { Task { await server.remove() } }
        let idp = try DevelopmentIDPKey.ephemeral()
        let router = ErxServer.router(server.env, verifier: AccessTokenVerifier.idp(key: idp.publicKey))
        try await Application(router: router).test(.live) { raw in
            let client = Client(client: raw, format: format, server: server, tunnel: setup.tunnel)
            let doctor = try idp.token(profession: Profession.doctorsPractice.rawValue, idNummer: TestServer.doctorTelematikID)
            let pharmacy = try idp.token(profession: Profession.publicPharmacy.rawValue, idNummer: TestServer.pharmacyTelematikID)
            let insurant = try idp.token(profession: Profession.insurant.rawValue, idNummer: TestServer.kvnr)
            // An ES256 token is not the IDP's: 401 inside the tunnel.
            let es256 = try await server.token(.insurant, id: TestServer.kvnr)
            #expect(try await client.send(.get, "/Task", token: es256).status == .unauthorized)

            let created = try await client.send(.post, "/Task/$create", token: doctor, body: Bodies.createParameters())
            #expect(created.status == .created)
            let task = try created.resource()
            let id = try #require(task.value(of: "id"))
            let accessCode = try #require(task.children(named: "identifier").first { $0.value(of: "system") == Systems.accessCode }?.value(of: "value"))
            let activated = try await client.send(.post, "/Task/\(id)/$activate", token: doctor,
                                                  body: Bodies.prescription(id: id, authoredOn: "2026-10-01"),
                                                  headers: [HTTPField.Name("X-AccessCode")!: accessCode])
            #expect(activated.status == .ok)
            let accepted = try await client.send(.post, "/Task/\(id)/$accept?ac=\(accessCode)", token: pharmacy)
            #expect(accepted.status == .ok)
            let acceptedTask = try #require(try accepted.resource().child("entry")?.child("resource")?.wrappedResource)
            let secret = try #require(acceptedTask.children(named: "identifier").first { $0.value(of: "system") == Systems.secret }?.value(of: "value"))
            for count in [3, 1] {
                let dispensed = try await client.send(.post, "/Task/\(id)/$dispense?secret=\(secret)", token: pharmacy,
                                                      body: Bodies.dispense(id: id, count: count))
                #expect(dispensed.status == .noContent)
            }
            let closed = try await client.send(.post, "/Task/\(id)/$close?secret=\(secret)", token: pharmacy)
            #expect(closed.status == .ok)
            #expect(try closed.resource().value(of: "type") == "document")  // the receipt
            #expect(closed.headers[.contentType]?.contains(format == .json ? "json" : "xml") == true)

            let read = try await client.send(.get, "/MedicationDispense", token: insurant)
            #expect(read.status == .ok)
            #expect(try read.resource().children(named: "entry").count == 2)  // the last set: one dispense and its Medication

            // With `--transport vau`, the same request in plain gets the outer server's 404.
            let plain = try await raw.execute(uri: "/MedicationDispense", method: .get, headers: [.authorization: "Bearer \(insurant)"], body: nil)
            #expect(plain.status == .notFound)
            let health = try await raw.execute(uri: "/health/live", method: .get, headers: [:], body: nil)
            #expect(health.status == .ok)
        }
    }
}
