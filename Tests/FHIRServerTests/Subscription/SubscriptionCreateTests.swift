import Dispensing
import FHIRFormats
import FHIRModel
import FHIRValidation
@testable import FHIRServer
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Testing

/// `POST /Subscription` over real HTTP on loopback, in JSON and XML: the FD's answer (A_22364,
/// A_22365, A_22366) and each refusal of fd-messaging-transport §2.1 in IBM's order.
@Suite struct SubscriptionCreateTests {
    static let pharmacy = TestServer.pharmacyTelematikID

    /// A client's Subscription as the E2E suite sends it (`SubscriptionBuilder.java`).
    static func subscription(status: String = "requested", criteria: String = "Communication?received=null&recipient=\(pharmacy)",
                             type: String = "websocket", reason: String? = "none") -> Element {
        .complex("Subscription", [
            .primitive("status", status),
            reason.map { .primitive("reason", $0) },
            .primitive("criteria", criteria),
            .complex("channel", [.primitive("type", type)]),
        ])
    }

    /// Runs `body` against a live server, once per format.
    static func withClients(_ body: @escaping @Sendable (Client, TestServer) async throws -> Void) async throws {
        let server = try await TestServer()
        defer { Task { await server.remove() } }
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            for format in [WireFormat.json, .xml] {
                try await body(Client(client: client, format: format, server: server), server)
            }
        }
    }

    static func post(_ client: Client, _ body: Element, token: String) async throws -> Reply {
        try await client.send(.post, "/Subscription", token: token, body: body)
    }

    /// The first issue's `details.text` and TI-Flow code.
    static func refusal(_ reply: Reply) throws -> (text: String?, code: String?, tiflow: String?) {
        let issue = try reply.resource().child("issue")
        return (issue?.child("details")?.value(of: "text"), issue?.value(of: "code"), issue?.child("details")?.child("coding")?.value(of: "code"))
    }

    @Test func A_22364_A_22365_A_22366_aPharmacyGetsAnActiveSubscriptionNamedByItsPseudonymWithAToken() async throws {
        try await Self.withClients { client, server in
            let token = try await server.token(.publicPharmacy, id: Self.pharmacy)
            let before = Date()
            let reply = try await Self.post(client, Self.subscription(), token: token)
            #expect(reply.status == .ok, "\(client.format): \(String(decoding: reply.bytes.prefix(400), as: UTF8.self))")
            let answer = try reply.resource()
            let id = try #require(answer.value(of: "id"))
            #expect(id == server.env.subscriptions.pseudonyms.pseudonym(of: TelematikID(Self.pharmacy)!))
            #expect(id.utf8.count == 32 && id.allSatisfy { "0123456789abcdef".contains($0) })
            #expect(answer.value(of: "status") == "active")
            #expect(answer.value(of: "reason") == "communication notifications")
            #expect(answer.value(of: "criteria") == "Communication?received=null&recipient=\(Self.pharmacy)")
            #expect(answer.descendant("channel", "type")?.value == "websocket")
            // `end`: now + 12 h, whole seconds (no fraction).
            let end = try #require(answer.value(of: "end"))
            #expect(!end.contains("."), "\(end)")
            let expected = FHIRInstant.formatSeconds(before.addingTimeInterval(12 * 3600))
            #expect(end >= expected && end <= FHIRInstant.formatSeconds(Date().addingTimeInterval(12 * 3600)), "\(end) vs \(expected)")
            // The header carries a token of ours naming this subscription until `end`.
            let header = try #require(answer.descendant("channel", "header")?.value)
            #expect(header.hasPrefix("Authorization: Bearer "))
            let verified = try #require(await server.env.subscriptions.tokens.verify(String(header.dropFirst("Authorization: Bearer ".count))))
            #expect(verified.subscriptionID == id)
            #expect(FHIRInstant.formatSeconds(verified.expires) == end)
            // Valid against R4 core's Subscription.
            let issues = TestServer.parameters.validator.validate(answer).issues.filter { $0.severity == .error || $0.severity == .fatal }
            #expect(issues.isEmpty, "\(issues.map(\.summary))")
        }
    }

    @Test func A_22362_01_hospitalPharmaciesAndInsurersMaySubscribe() async throws {
        try await Self.withClients { client, server in
            let insurer = "8-SMC-B-Testkarte-883110000095959"
            for (profession, id) in [(Profession.hospitalPharmacy, Self.pharmacy), (.insurer, insurer)] {
                let token = try await server.token(profession, id: id)
                let reply = try await Self.post(client, Self.subscription(criteria: "Communication?recipient=\(id)"), token: token)
                #expect(reply.status == .ok, "\(profession) \(client.format)")
            }
        }
    }

    @Test func A_22362_01_otherProfessionsAreForbidden() async throws {
        try await Self.withClients { client, server in
            for (profession, id) in [(Profession.doctorsPractice, TestServer.doctorTelematikID), (.insurant, TestServer.kvnr)] {
                let token = try await server.token(profession, id: id)
                let reply = try await Self.post(client, Self.subscription(), token: token)
                #expect(reply.status == .forbidden, "\(profession) \(client.format)")
                #expect(try Self.refusal(reply).tiflow == "TIFLOW_AUTH_ROLE_NOT_ALLOWED")
            }
        }
    }

    @Test func check1_aBodyThatIsNoValidSubscriptionIs400ErrorDuringRequestParsing() async throws {
        try await Self.withClients { client, server in
            let token = try await server.token(.publicPharmacy, id: Self.pharmacy)
            // `reason` is 1..1 in R4; a Parameters is no Subscription; a body that is no FHIR at all.
            for body in [Self.subscription(reason: nil), .complex("Parameters", [])] {
                let reply = try await Self.post(client, body, token: token)
                #expect(reply.status == .badRequest, "\(body.name) \(client.format)")
                #expect(try Self.refusal(reply).text == "Error during request parsing.")
                #expect(try reply.resource().children(named: "issue").count >= 2, "diagnostics follow")
            }
            let garbage = try await client.client.execute(uri: "/Subscription", method: .post, headers: [
                .authorization: "Bearer \(token)", .contentType: client.mediaType, .accept: client.mediaType,
            ], body: .init(string: "{<"))
            let reply = Reply(response: garbage, format: client.format)
            #expect(reply.status == .badRequest)
            #expect(try Self.refusal(reply).text == "Error during request parsing.")
        }
    }

    @Test func check2_criteriaWithoutACommunicationRecipientIs400MissingRecipient() async throws {
        try await Self.withClients { client, server in
            let token = try await server.token(.publicPharmacy, id: Self.pharmacy)
            for criteria in ["Communication?received=null", "Communication?recipient=", "Task?recipient=\(Self.pharmacy)", "Communication"] {
                let reply = try await Self.post(client, Self.subscription(criteria: criteria), token: token)
                #expect(reply.status == .badRequest, "\(criteria)")
                #expect(try Self.refusal(reply).text == "Missing recipient", "\(criteria)")
            }
        }
    }

    @Test func check3_aStatusOtherThanRequestedIs400() async throws {
        try await Self.withClients { client, server in
            let token = try await server.token(.publicPharmacy, id: Self.pharmacy)
            let reply = try await Self.post(client, Self.subscription(status: "active"), token: token)
            #expect(reply.status == .badRequest)
            #expect(try Self.refusal(reply).text == "Request status not supported")
        }
    }

    @Test func check4_aTokenWithoutTelematikIDIs400() async throws {
        try await Self.withClients { client, server in
            let token = try await server.token(.publicPharmacy, id: nil)
            let reply = try await Self.post(client, Self.subscription(), token: token)
            #expect(reply.status == .badRequest)
            #expect(try Self.refusal(reply).text == "No valid Telematik-ID in JWT")
        }
    }

    @Test func A_22363_aSubscriptionForAnotherRecipientIs403() async throws {
        try await Self.withClients { client, server in
            let token = try await server.token(.publicPharmacy, id: TestServer.otherPharmacyTelematikID)
            let reply = try await Self.post(client, Self.subscription(), token: token)
            #expect(reply.status == .forbidden)
            let refusal = try Self.refusal(reply)
            #expect(refusal.code == "forbidden")
            #expect(refusal.tiflow == "SVC_IDENTITY_MISMATCH")
            #expect(refusal.text == "Identity mismatch: Access token does not match FHIR data (Telematik-ID)")
        }
    }

    /// Ours until webhooks (rest-hook) land on this route: another channel type is refused.
    @Test func otherChannelTypesAre400ForNow() async throws {
        try await Self.withClients { client, server in
            let token = try await server.token(.publicPharmacy, id: Self.pharmacy)
            let reply = try await Self.post(client, Self.subscription(type: "email"), token: token)
            #expect(reply.status == .badRequest)
            #expect(try Self.refusal(reply).code == "not-supported")
        }
    }

    @Test func theCriteriaParserReadsOnlyTheRecipient() {
        #expect(WebsocketSubscriptionCreate.recipient(inCriteria: "Communication?received=null&recipient=3-abc") == "3-abc")
        #expect(WebsocketSubscriptionCreate.recipient(inCriteria: "Communication?recipient=3-a%2Fb&x=1") == "3-a/b")
        #expect(WebsocketSubscriptionCreate.recipient(inCriteria: "Communications?recipient=3-abc") == nil)
    }
}
