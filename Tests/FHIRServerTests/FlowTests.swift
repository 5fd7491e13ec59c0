import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import HummingbirdTesting
import SQLiteStore
import Testing

/// The whole pharmacy flow through the router, in JSON and in XML (issue 4, "Tests").
@Suite struct FlowTests {
    @Test(arguments: [WireFormat.json, .xml])
    func pharmacyFlow(format: WireFormat) async throws {
        let server = try await TestServer()
        defer { Task { await server.remove() } }
        let app = Application(router: server.router)
        try await app.test(.router) { client in
            let client = Client(client: client, format: format, server: server)
            let doctor = try await server.token(.doctorsPractice, id: TestServer.doctorTelematikID)
            let pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
            let insurant = try await server.token(.insurant, id: TestServer.kvnr)

            let created = try await client.send(.post, "/Task/$create", token: doctor, body: Bodies.createParameters())
            #expect(created.status == .created)
            let task = try created.resource()
            let id = try #require(task.value(of: "id"))
            let accessCode = try #require(task.children(named: "identifier").first { $0.value(of: "system") == Systems.accessCode }?.value(of: "value"))
            #expect(task.value(of: "status") == "draft")
            #expect(created.headers[.location] == "http://erx.test/Task/\(id)")

            let activated = try await client.send(.post, "/Task/\(id)/$activate", token: doctor,
                                                  body: Bodies.prescription(id: id, authoredOn: "2026-10-01"), headers: [HTTPField.Name("X-AccessCode")!: accessCode])
            #expect(activated.status == .ok)
            #expect(try activated.resource().value(of: "status") == "ready")

            let accepted = try await client.send(.post, "/Task/\(id)/$accept?ac=\(accessCode)", token: pharmacy)
            #expect(accepted.status == .ok)
            let acceptedTask = try #require(try accepted.resource().child("entry")?.child("resource")?.wrappedResource)
            #expect(acceptedTask.value(of: "status") == "in-progress")
            let secret = try #require(acceptedTask.children(named: "identifier").first { $0.value(of: "system") == Systems.secret }?.value(of: "value"))

            let first = try await client.send(.post, "/Task/\(id)/$dispense?secret=\(secret)", token: pharmacy, body: Bodies.dispense(id: id, count: 3))
            #expect(first.status == .noContent)
            #expect(first.bytes.isEmpty)
            let second = try await client.send(.post, "/Task/\(id)/$dispense?secret=\(secret)", token: pharmacy, body: Bodies.dispense(id: id, count: 1))
            #expect(second.status == .noContent)

            let search = try await client.send(.get, "/MedicationDispense", token: insurant)
            #expect(search.status == .ok)
            let bundle = try search.resource()
            #expect(bundle.value(of: "total") == "0")  // A_24443-01
            let entries = bundle.children(named: "entry")
            #expect(entries.compactMap { $0.descendant("search", "mode")?.value } == ["match", "include"])
            let md = try #require(entries.first?.child("resource")?.wrappedResource)
            #expect(md.value(of: "id") == id)
            let medicationID = try #require(entries.last?.child("resource")?.wrappedResource?.value(of: "id"))
            #expect(md.descendant("medicationReference", "reference")?.value == "urn:uuid:\(medicationID)")

            let closed = try await client.send(.post, "/Task/\(id)/$close?secret=\(secret)", token: pharmacy)
            #expect(closed.status == .ok)
            let receipt = try closed.resource()
            #expect(receipt.name == "Bundle")
            #expect(receipt.value(of: "type") == "document")
            #expect(await ReceiptIssuer.verifyReceipt(receipt, certificate: server.receipts.certificate))

            let read = try await client.send(.get, "/Task/\(id)?secret=\(secret)", token: pharmacy)
            #expect(read.status == .ok)
            let readTask = try #require(try read.resource().child("entry")?.child("resource")?.wrappedResource)
            #expect(readTask.value(of: "status") == "completed")

            let afterClose = try await client.send(.post, "/Task/\(id)/$dispense?secret=\(secret)", token: pharmacy, body: Bodies.dispense(id: id, count: 1))
            #expect(afterClose.status == .forbidden)
            let stored = try await server.store.dispensations(of: PrescriptionID(id)!)
            #expect(stored.count == 1)
        }
    }
}
