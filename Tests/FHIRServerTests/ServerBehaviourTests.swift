import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SQLiteStore
import Testing

/// Overwrite, reject, abort, concurrency and durability through the HTTP API (issue 4, "Tests").
@Suite struct ServerBehaviourTests {
    @Test func twentyConcurrentDispensesLeaveExactlyOneWholeSet() async throws {
        let server = try await TestServer()
        defer { Task { await server.remove() } }
        try await Application(router: server.router).test(.router) { client in
            let client = Client(client: client, format: .json, server: server)
            let task = try await TaskFactory(client: client).prepare(.inProgress)
            let pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
            // Set k has k dispensations, all handed over on 2026-10-(10+k): a mixed set would show.
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for size in 1...20 {
                    let body = try Bodies.dispense(id: task.id, count: size, handedOver: "2026-10-\(10 + size)")
                    group.addTask {
                        try await client.send(.post, "/Task/\(task.id)/$dispense?secret=\(task.secret)", token: pharmacy, body: body).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .noContent })
            let stored = try await server.store.dispensations(of: PrescriptionID(task.id)!)
            let dates = Set(stored.compactMap(\.view.whenHandedOver))
            #expect(dates.count == 1)
            let day = try #require(dates.first.flatMap { Int($0.suffix(2)) })
            #expect(stored.count == day - 10)
            #expect(stored.map { $0.view.id } == (0..<stored.count).map { $0 == 0 ? task.id : "\(task.id)-\($0)" })
            let audit = try await server.store.auditTrail(of: PrescriptionID(task.id)!)
            #expect(audit.filter { $0.action == .dispense }.count == 20)
        }
    }

    @Test func rejectDeletesTheSetAndAbortWipesPersonalData() async throws {
        let server = try await TestServer()
        defer { Task { await server.remove() } }
        try await Application(router: server.router).test(.router) { client in
            let client = Client(client: client, format: .xml, server: server)
            let factory = try await TaskFactory(client: client)
            let pharmacy = factory.pharmacy
            let insurant = try await server.token(.insurant, id: TestServer.kvnr)

            let rejected = try await factory.prepare(.dispensed)
            let reject = try await client.send(.post, "/Task/\(rejected.id)/$reject?secret=\(rejected.secret)", token: pharmacy)
            #expect(reject.status == .noContent)
            let afterReject = try await server.store.task(PrescriptionID(rejected.id)!)
            #expect(afterReject?.status == .ready)
            #expect(afterReject?.secret == nil && afterReject?.owner == nil && afterReject?.lastMedicationDispense == nil)
            #expect(try await server.store.dispensations(of: PrescriptionID(rejected.id)!).isEmpty)
            let search = try await client.send(.get, "/MedicationDispense?identifier=\(Systems.prescriptionID)|\(rejected.id)", token: insurant)
            #expect(try search.resource().value(of: "total") == "0")

            let aborted = try await factory.prepare(.dispensed)
            let abort = try await client.send(.post, "/Task/\(aborted.id)/$abort?secret=\(aborted.secret)", token: pharmacy)
            #expect(abort.status == .noContent)
            let wiped = try #require(try await server.store.task(PrescriptionID(aborted.id)!))
            #expect(wiped.status == .cancelled)
            #expect(wiped.kvnr?.rawValue == TestServer.kvnr)
            #expect(wiped.accessCode == nil && wiped.secret == nil && wiped.owner == nil && wiped.prescription == nil)
            #expect(try await server.store.dispensations(of: PrescriptionID(aborted.id)!).isEmpty)
        }
    }

    @Test func aRestartedServerStillHasTheDispensation() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-restart-\(UUID().uuidString)")
        let key = DevelopmentSigningKey.ephemeral()
        let server = try await TestServer(directory: directory, key: key)
        let id = try await Application(router: server.router).test(.router) { client in
            try await TaskFactory(client: Client(client: client, format: .json, server: server)).prepare(.dispensed).id
        }
        try await #require(server.store as? SQLiteTaskStore).close()
        let restarted = try await TestServer(directory: directory, key: key)
        defer { Task { await restarted.remove() } }
        try await Application(router: restarted.router).test(.router) { client in
            let client = Client(client: client, format: .json, server: restarted)
            let insurant = try await restarted.token(.insurant, id: TestServer.kvnr)
            let search = try await client.send(.get, "/MedicationDispense", token: insurant)
            let bundle = try search.resource()
            // A_24443-01: the MedicationDispense search's total is always 0.
            #expect(bundle.value(of: "total") == "0")
            #expect(bundle.child("entry")?.child("resource")?.wrappedResource?.value(of: "id") == id)
        }
    }

    /// The flow's core over a real socket on loopback, not only through the router.
    @Test func dispenseOverARealSocket() async throws {
        let server = try await TestServer()
        defer { Task { await server.remove() } }
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let client = Client(client: client, format: .xml, server: server)
            let task = try await TaskFactory(client: client).prepare(.inProgress)
            let pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
            let reply = try await client.send(.post, "/Task/\(task.id)/$dispense?secret=\(task.secret)", token: pharmacy,
                                              body: Bodies.dispense(id: task.id, count: 2), headers: [HTTPField.Name("Prefer")!: "return=representation"])
            #expect(reply.status == .ok)
            let bundle = try reply.resource()
            #expect(bundle.value(of: "type") == "searchset")
            #expect(bundle.children(named: "entry").count == 4)
        }
    }

    @Test func metadataListsEveryOperationWithItsProfessions() async throws {
        let server = try await TestServer()
        defer { Task { await server.remove() } }
        try await Application(router: server.router).test(.router) { client in
            let reply = try await client.execute(uri: "/metadata?_format=json", method: .get)
            #expect(reply.status == .ok)
            let statement = try FHIRFormat.json.read(Array(reply.body.readableBytesView)).resource
            let operations = statement.child("rest")?.children(named: "resource").flatMap { $0.children(named: "operation") } ?? []
            #expect(Set(operations.compactMap { $0.value(of: "name") }) == ["create", "activate", "accept", "dispense", "close", "reject", "abort"])
            let dispense = operations.first { $0.value(of: "name") == "dispense" }
            #expect(dispense?.value(of: "documentation")?.contains("oid_oeffentliche_apotheke, oid_krankenhausapotheke") == true)
        }
    }
}
