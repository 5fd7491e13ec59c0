import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import StoreTestSupport
import Testing

/// Webhook subscriptions (issue 23, item 3) over real HTTP on loopback, on both stores and in both
/// formats: create, read, list, delete; another pharmacy's are invisible; bad input is a 400 that
/// names the element.
@Suite struct WebhookSubscriptionTests {
    static let secretURL = "https://erx.invalid/fhir/StructureDefinition/webhook-secret"

    static func subscription(criteria: String? = "Task", type: String = "rest-hook", endpoint: String? = "http://127.0.0.1:9/hook/a",
                             payload: String? = "application/fhir+json", status: String = "requested", header: String? = nil) -> Element {
        var channel: [Element] = [Element(name: "type", value: type)]
        if let endpoint { channel.append(Element(name: "endpoint", value: endpoint)) }
        if let payload { channel.append(Element(name: "payload", value: payload)) }
        if let header { channel.append(Element(name: "header", value: header)) }
        var children = [Element(name: "status", value: status), Element(name: "reason", value: "dispensing events")]
        if let criteria { children.append(Element(name: "criteria", value: criteria)) }
        children.append(Element(name: "channel", children: channel))
        return Element(name: "Subscription", children: children)
    }

    static let cases: [(StoreKind, WireFormat)] = [(.sqlite, .json), (.sqlite, .xml), (.postgresql, .json), (.postgresql, .xml)]

    private func live<T: Sendable>(_ kind: StoreKind, _ format: WireFormat,
                                   _ body: @Sendable (Client, TestServer) async throws -> T) async throws -> T {
        let server = try await TestServer(store: kind)
        defer { Task { await server.remove() } }
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in try await body(Client(client: client, format: format, server: server), server) }
    }

    @Test(arguments: cases)
    func aPharmacyCreatesReadsListsAndDeletesItsWebhook(kind: StoreKind, format: WireFormat) async throws {
        try await live(kind, format) { client, server in
            let pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
            let created = try await client.send(.post, "/Subscription", token: pharmacy,
                                                body: Self.subscription(criteria: "Task?_event=dispense.recorded,dispensing.completed"))
            #expect(created.status == .created)
            let resource = try created.resource()
            let id = try #require(resource.value(of: "id"))
            #expect(created.headers[.location] == "http://erx.test/Subscription/\(id)")
            let secret = resource.extensions(Self.secretURL).first?.value(of: "valueString")
            #expect(secret?.count == 64, "the signing secret comes back once, at creation")
            #expect(resource.value(of: "status") == "active")
            #expect(resource.descendant("channel", "type")?.value == "rest-hook")

            let read = try await client.send(.get, "/Subscription/\(id)", token: pharmacy)
            #expect(read.status == .ok)
            let readBack = try read.resource()
            #expect(readBack.value(of: "criteria") == "Task?_event=dispense.recorded,dispensing.completed")
            #expect(readBack.descendant("channel", "endpoint")?.value == "http://127.0.0.1:9/hook/a")
            #expect(readBack.extensions(Self.secretURL).isEmpty, "a read never shows the secret")

            _ = try await client.send(.post, "/Subscription", token: pharmacy, body: Self.subscription(criteria: "MedicationDispense", payload: nil))
            let list = try await client.send(.get, "/Subscription", token: pharmacy)
            #expect(list.status == .ok)
            let entries = try list.resource().children(named: "entry")
            #expect(entries.count == 2)
            #expect(entries.allSatisfy { $0.child("resource")?.wrappedResource?.extensions(Self.secretURL).isEmpty == true })

            let deleted = try await client.send(.delete, "/Subscription/\(id)", token: pharmacy)
            #expect(deleted.status == .noContent)
            #expect(try await client.send(.get, "/Subscription/\(id)", token: pharmacy).status == .notFound)
            #expect(try await client.send(.delete, "/Subscription/\(id)", token: pharmacy).status == .notFound)
            #expect(try await client.send(.get, "/Subscription", token: pharmacy).resource().children(named: "entry").count == 1)
        }
    }

    @Test(arguments: cases)
    func anotherPharmacyNeitherSeesNorDeletesIt(kind: StoreKind, format: WireFormat) async throws {
        try await live(kind, format) { client, server in
            let owner = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
            let other = try await server.token(.publicPharmacy, id: TestServer.otherPharmacyTelematikID)
            let id = try #require(try await client.send(.post, "/Subscription", token: owner, body: Self.subscription()).resource().value(of: "id"))
            let read = try await client.send(.get, "/Subscription/\(id)", token: other)
            #expect(read.status == .notFound)
            #expect(try read.issueCode() == "not-found")
            #expect(try await client.send(.delete, "/Subscription/\(id)", token: other).status == .notFound)
            #expect(try await client.send(.get, "/Subscription", token: other).resource().children(named: "entry").isEmpty)
            #expect(try await client.send(.get, "/Subscription/\(id)", token: owner).status == .ok)
            // Not a pharmacy at all: the route table refuses the profession.
            let doctor = try await server.token(.doctorsPractice, id: TestServer.doctorTelematikID)
            #expect(try await client.send(.get, "/Subscription", token: doctor).status == .forbidden)
        }
    }

    static let badInputs: [(String, Element, String)] = [
        ("no criteria", subscription(criteria: nil), "Subscription.criteria"),
        ("criteria of another resource", subscription(criteria: "Patient?name=x"), "Subscription.criteria"),
        ("unknown event", subscription(criteria: "Task?_event=dispense.exploded"), "Subscription.criteria"),
        ("unknown parameter", subscription(criteria: "Task?owner=me"), "Subscription.criteria"),
        ("status filter on MedicationDispense", subscription(criteria: "MedicationDispense?status=completed"), "Subscription.criteria"),
        ("unknown status", subscription(criteria: "Task?status=done"), "Subscription.criteria"),
        ("websocket at the rest-hook endpoint", subscription(type: "email"), "Subscription.channel.type"),
        ("no endpoint", subscription(endpoint: nil), "Subscription.channel.endpoint"),
        ("ftp endpoint", subscription(endpoint: "ftp://example.org/x"), "Subscription.channel.endpoint"),
        ("relative endpoint", subscription(endpoint: "/hook/a"), "Subscription.channel.endpoint"),
        ("credentials in the endpoint", subscription(endpoint: "https://user:pw@example.org/x"), "Subscription.channel.endpoint"),
        ("xml payload", subscription(payload: "application/fhir+xml"), "Subscription.channel.payload"),
        ("a header", subscription(header: "Authorization: x"), "Subscription.channel.header"),
        ("status off", subscription(status: "off"), "Subscription.status"),
    ]

    @Test(arguments: [StoreKind.sqlite, .postgresql])
    func badInputIsA400NamingTheElement(kind: StoreKind) async throws {
        for format in [WireFormat.json, .xml] {
            try await live(kind, format) { client, server in
                let pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
                for (name, body, expression) in Self.badInputs {
                    let reply = try await client.send(.post, "/Subscription", token: pharmacy, body: body)
                    #expect(reply.status == .badRequest, "\(name) (\(format))")
                    #expect(try reply.resource().name == "OperationOutcome", "\(name)")
                    // A body that is no valid R4 Subscription (no criteria) leads with the FD's "Error during
                    // request parsing." and names the element in a further issue (SubscriptionCreate).
                    let expressions = try reply.resource().children(named: "issue").flatMap { $0.children(named: "expression").compactMap(\.value) }
                    #expect(expressions.contains(expression), "\(name) (\(format)): \(expressions)")
                }
                let wrong = try await client.send(.post, "/Subscription", token: pharmacy, body: Element(name: "Consent", children: [Element(name: "status", value: "active")]))
                #expect(wrong.status == .badRequest)
                #expect(try await client.send(.get, "/Subscription", token: pharmacy).resource().children(named: "entry").isEmpty, "nothing was stored")
            }
        }
    }
}

/// The criteria grammar, without a server.
@Suite struct WebhookCriteriaTests {
    func event(_ kind: DispensingEvent.Kind, _ status: TaskStatus) -> DispensingEvent {
        DispensingEvent(id: "e", kind: kind, prescriptionID: PrescriptionID(flowType: .gkvPharmacy, serial: 1), status: status,
                        pharmacy: TelematikID(TestServer.pharmacyTelematikID)!, occurredAt: Date())
    }

    @Test func criteriaSelectByResourceEventAndStatus() throws {
        #expect(try WebhookCriteria(parsing: "Task").matches(event(.taskStatusChanged, .ready)))
        #expect(try WebhookCriteria(parsing: "Task?").matches(event(.dispensingCancelled, .ready)))
        #expect(try !WebhookCriteria(parsing: "MedicationDispense").matches(event(.taskStatusChanged, .completed)))
        #expect(try WebhookCriteria(parsing: "MedicationDispense").matches(event(.dispenseRecorded, .inProgress)))
        let closing = try WebhookCriteria(parsing: "Task?_event=task.status-changed&status=completed,cancelled")
        #expect(closing.matches(event(.taskStatusChanged, .completed)))
        #expect(!closing.matches(event(.taskStatusChanged, .inProgress)))
        #expect(!closing.matches(event(.dispensingCompleted, .completed)))
        #expect(throws: WebhookCriteria.Invalid.self) { try WebhookCriteria(parsing: "Task?_event=") }
        #expect(throws: WebhookCriteria.Invalid.self) { try WebhookCriteria(parsing: "Task?_event=a&_event=b") }
    }
}
