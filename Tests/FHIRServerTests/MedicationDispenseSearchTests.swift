import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `GET /MedicationDispense` as the production service answers it (fd-parity.md §5).
@Suite struct MedicationDispenseSearchTests {
    typealias R = InsurantReadTests

    /// Dispenses each prepared task with one MedicationDispense handed over on `handover`.
    func dispensed(_ factory: TaskFactory, _ client: Client, handover: String, prepared whenPrepared: String? = nil,
                   pharmacy telematikID: String = TestServer.pharmacyTelematikID) async throws -> String {
        let prepared = try await factory.prepare(.inProgress)
        var body = try Bodies.dispense(id: prepared.id, count: 1, telematikID: telematikID, handedOver: handover)
        if let whenPrepared { body = Self.settingWhenPrepared(in: body, to: whenPrepared) }
        let token = telematikID == TestServer.pharmacyTelematikID ? factory.pharmacy
            : try await client.server.token(.publicPharmacy, id: telematikID)
        let reply = try await client.send(.post, "/Task/\(prepared.id)/$dispense?secret=\(prepared.secret)", token: token, body: body)
        #expect(reply.status == .noContent, "\(String(decoding: reply.bytes, as: UTF8.self))")
        return prepared.id
    }

    /// Every MedicationDispense of the body with `whenPrepared` (the writers order the children).
    static func settingWhenPrepared(in element: Element, to value: String) -> Element {
        var copy = element
        if copy.name == "MedicationDispense" {
            copy.children.removeAll { $0.name == "whenPrepared" }
            copy.children.append(Element(name: "whenPrepared", value: value))
        }
        copy.children = copy.children.map { settingWhenPrepared(in: $0, to: value) }
        return copy
    }

    /// A_24438: ascending by hand-over; A_24443-01: total 0, no links, `_count` ignored; entries all
    /// MedicationDispenses, then all Medications; A_27052: `supportingInformation` is the Task.
    @Test(arguments: R.formats)
    func theSearchAnswersAsTheFD(format: WireFormat) async throws {
        try await R().withServer(format) { client, factory, insurant in
            let late = try await dispensed(factory, client, handover: "2026-10-05")
            let early = try await dispensed(factory, client, handover: "2026-10-02")
            let reply = try await client.send(.get, "/MedicationDispense?_count=1", token: insurant)
            #expect(reply.status == .ok)
            let bundle = try reply.resource()
            #expect(bundle.value(of: "total") == "0")
            #expect(bundle.children(named: "link").isEmpty)
            let entries = bundle.children(named: "entry")
            #expect(entries.compactMap { $0.descendant("search", "mode")?.value } == ["match", "match", "include", "include"])
            let dispenses = R.entries(bundle).filter { $0.resource.name == "MedicationDispense" }
            #expect(dispenses.map { $0.resource.value(of: "id") } == [early, late])
            #expect(dispenses.map(\.fullUrl) == ["http://erx.test/MedicationDispense/\(early)", "http://erx.test/MedicationDispense/\(late)"])
            #expect(dispenses.allSatisfy {
                $0.resource.descendant("supportingInformation", "reference")?.value == "Task/\($0.resource.value(of: "id") ?? "")"
            })
            let descending = try await client.send(.get, "/MedicationDispense?_sort=-whenhandedover", token: insurant).resource()
            #expect(R.entries(descending).filter { $0.resource.name == "MedicationDispense" }.map { $0.resource.value(of: "id") } == [late, early])
            let count = try await client.send(.get, "/MedicationDispense?_summary=count", token: insurant).resource()
            #expect(count.value(of: "total") == "2" && count.children(named: "entry").isEmpty)
        }
    }

    /// All four filters (A_22070-03 for `identifier`), each selecting whole sets.
    @Test(arguments: R.formats)
    func theFourFilters(format: WireFormat) async throws {
        try await R().withServer(format) { client, factory, insurant in
            let first = try await dispensed(factory, client, handover: "2026-10-02", prepared: "2026-10-01")
            let second = try await dispensed(factory, client, handover: "2026-10-05", prepared: "2026-10-05",
                                             pharmacy: TestServer.otherPharmacyTelematikID)
            func ids(_ query: String) async throws -> [String] {
                let reply = try await client.send(.get, "/MedicationDispense?\(query)", token: insurant)
                #expect(reply.status == .ok, "\(query): \(String(decoding: reply.bytes.prefix(300), as: UTF8.self))")
                return R.entries(try reply.resource()).filter { $0.resource.name == "MedicationDispense" }.compactMap { $0.resource.value(of: "id") }
            }
            #expect(try await ids("identifier=\(Systems.prescriptionID)%7C\(second)") == [second])
            #expect(try await ids("identifier=\(Systems.prescriptionID)%7C\(second),\(Systems.prescriptionID)%7C\(first)") == [first, second])
            #expect(try await ids("whenhandedover=ge2026-10-03") == [second])
            #expect(try await ids("whenhandedover=2026-10-02") == [first])
            #expect(try await ids("whenprepared=lt2026-10-05") == [first])
            #expect(try await ids("whenprepared=ge2026-10-01&whenprepared=le2026-10-05") == [first, second])
            #expect(try await ids("performer=\(TestServer.otherPharmacyTelematikID)") == [second])
            #expect(try await ids("performer=\(TestServer.pharmacyTelematikID)&whenhandedover=gt2026-10-03").isEmpty)
            let bare = try await client.send(.get, "/MedicationDispense?identifier=\(first)", token: insurant)
            #expect(bare.status == .badRequest)
            #expect(String(decoding: bare.bytes, as: UTF8.self).contains("bad search parameter"))
        }
    }
}
