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

/// A pharmacy's history `GET /MedicationDispense?performer=<own>` (ours, issue 24 item 5) over a
/// real socket, on both stores, in JSON and XML; every other pharmacy request keeps the FD's 403
/// (A_19405-02, E2E ERP_EE_WF160_20).
@Suite struct PharmacyHistoryTests {
    typealias R = InsurantReadTests
    static let own = TestServer.pharmacyTelematikID
    static let other = TestServer.otherPharmacyTelematikID
    static let refusal = "endpoint is forbidden for professionOID \(Profession.publicPharmacy.rawValue)"

    struct Harness {
        let client: Client
        let factory: TaskFactory
        let search: MedicationDispenseSearchTests

        /// The page's MedicationDispense ids (Medications are checked to follow them), and the bundle.
        func history(_ query: String, token: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> (ids: [String], bundle: Element) {
            let reply = try await client.send(.get, "/MedicationDispense?performer=\(PharmacyHistoryTests.own)\(query.isEmpty ? "" : "&" + query)",
                                              token: token ?? factory.pharmacy)
            #expect(reply.status == .ok, "\(query): \(String(decoding: reply.bytes.prefix(400), as: UTF8.self))", sourceLocation: sourceLocation)
            let bundle = try reply.resource()
            if AnswerValidator.packagesAvailable {
                AnswerValidator.validate(bundle, route: "\(client.format) GET /MedicationDispense?\(query)", tally: AnswerValidator.Tally(),
                                         sourceLocation: sourceLocation)
            }
            let entries = R.entries(bundle)
            let dispenses = entries.filter { $0.resource.name == "MedicationDispense" }
            // MedicationDispenses first, then their Medications (as the insurant's answer).
            #expect(entries.map { $0.resource.name } == dispenses.map { _ in "MedicationDispense" } + dispenses.map { _ in "Medication" },
                    sourceLocation: sourceLocation)
            return (dispenses.compactMap { $0.resource.value(of: "id") }, bundle)
        }
    }

    func live(_ kind: StoreKind, _ format: WireFormat, _ body: @escaping @Sendable (Harness) async throws -> Void) async throws {
        if AnswerValidator.packagesAvailable { await AnswerValidator.loaded() }
        let server = try await TestServer(store: kind)
        defer { Task { await server.remove() } }
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let client = Client(client: client, format: format, server: server)
            try await body(Harness(client: client, factory: try await TaskFactory(client: client), search: MedicationDispenseSearchTests()))
        }
    }

    /// Own MedicationDispenses only, ascending by hand-over (`-whenhandedover` descending), each
    /// FHIR date prefix against the German hand-over day, several values ANDed, a comma list ORed.
    @Test(arguments: StoreKind.allCases, R.formats)
    func theHistoryListsOwnDispensationsByHandover(kind: StoreKind, format: WireFormat) async throws {
        try await live(kind, format) { h in
            let late = try await h.search.dispensed(h.factory, h.client, handover: "2026-10-05")
            let early = try await h.search.dispensed(h.factory, h.client, handover: "2026-10-02")
            let foreign = try await h.search.dispensed(h.factory, h.client, handover: "2026-10-03", pharmacy: Self.other)
            let all = try await h.history("")
            #expect(all.ids == [early, late])
            #expect(all.bundle.value(of: "total") == "2")
            #expect(R.entries(all.bundle).first?.fullUrl == "http://erx.test/MedicationDispense/\(early)")
            #expect(try await h.history("_sort=-whenhandedover").ids == [late, early])
            #expect(try await h.history("whenhandedover=2026-10-02").ids == [early])
            #expect(try await h.history("whenhandedover=eq2026-10-05").ids == [late])
            #expect(try await h.history("whenhandedover=ge2026-10-03").ids == [late])
            #expect(try await h.history("whenhandedover=gt2026-10-02").ids == [late])
            #expect(try await h.history("whenhandedover=le2026-10-02").ids == [early])
            #expect(try await h.history("whenhandedover=lt2026-10-05").ids == [early])
            #expect(try await h.history("whenhandedover=ne2026-10-02").ids == [late])
            #expect(try await h.history("whenhandedover=2026-10").ids == [early, late])
            #expect(try await h.history("whenhandedover=ge2026-10-01&whenhandedover=lt2026-10-03").ids == [early])
            #expect(try await h.history("whenhandedover=2026-10-02,2026-10-05").ids == [early, late])
            #expect(try await h.history("whenhandedover=gt2026-10-05").ids == [])
            let otherToken = try await h.client.server.token(.publicPharmacy, id: Self.other)
            let reply = try await h.client.send(.get, "/MedicationDispense?performer=\(Self.other)", token: otherToken)
            #expect(R.entries(try reply.resource()).filter { $0.resource.name == "MedicationDispense" }.compactMap { $0.resource.value(of: "id") }
                == [foreign])
            let bad = try await h.client.send(.get, "/MedicationDispense?performer=\(Self.own)&whenhandedover=2026-13-01", token: h.factory.pharmacy)
            #expect(bad.status == .badRequest)
        }
    }

    /// `_count`, `__offset`, `total`, links repeating the applied parameters, `_summary=count`.
    @Test(arguments: StoreKind.allCases, R.formats)
    func theHistoryPagesInTheStore(kind: StoreKind, format: WireFormat) async throws {
        try await live(kind, format) { h in
            var ids: [String] = []
            for day in ["2026-10-01", "2026-10-02", "2026-10-03"] { ids.append(try await h.search.dispensed(h.factory, h.client, handover: day)) }
            let first = try await h.history("whenhandedover=ge2026-10-01&_count=2")
            #expect(first.ids == Array(ids[0..<2]))
            #expect(first.bundle.value(of: "total") == "3")
            let base = "http://erx.test/MedicationDispense?performer=\(Self.own)&whenhandedover=ge2026-10-01&_count=2"
            #expect(R.links(first.bundle)["self"] == base + "&__offset=0")
            #expect(R.links(first.bundle)["next"] == base + "&__offset=2")
            #expect(R.links(first.bundle)["prev"] == nil)
            let second = try await h.history("whenhandedover=ge2026-10-01&_count=2&__offset=2")
            #expect(second.ids == [ids[2]])
            #expect(R.links(second.bundle)["prev"] == base + "&__offset=0")
            #expect(R.links(second.bundle)["next"] == nil)
            let count = try await h.history("_summary=count")
            #expect(count.ids.isEmpty && count.bundle.value(of: "total") == "3")
        }
    }

    /// Any pharmacy request but its own `performer` keeps the FD's 403 and text (another pharmacy's
    /// included: the answer depends on nobody's data), before a bad `Accept` (406), as the FD
    /// orders them (fd-parity §7.1); other professions stay refused; the insurant's answer is the FD's.
    @Test(arguments: R.formats)
    func everyOtherPharmacyRequestKeepsTheFDs403(format: WireFormat) async throws {
        try await live(.sqlite, format) { h in
            let own = try await h.search.dispensed(h.factory, h.client, handover: "2026-10-02")
            for query in ["", "?performer=\(Self.other)", "?performer=\(Self.own),\(Self.other)", "?performer=\(Self.own)&performer=\(Self.own)",
                          "?whenhandedover=ge2026-01-01"] {
                try EgkRedemptionTests.expect(try await h.client.send(.get, "/MedicationDispense\(query)", token: h.factory.pharmacy), 403, Self.refusal)
            }
            let unacceptable = try await h.client.send(.get, "/MedicationDispense?performer=\(Self.other)", token: h.factory.pharmacy,
                                                       headers: [.accept: "text/plain"])
            #expect(unacceptable.status == .forbidden)
            let doctor = try await h.client.send(.get, "/MedicationDispense?performer=\(TestServer.doctorTelematikID)", token: h.factory.doctor)
            #expect(doctor.status == .forbidden)
            let insurant = try await h.client.server.token(.insurant, id: TestServer.kvnr)
            let bundle = try await h.client.send(.get, "/MedicationDispense?performer=\(Self.own)&_count=1", token: insurant).resource()
            #expect(bundle.value(of: "total") == "0" && bundle.children(named: "link").isEmpty)
            #expect(R.entries(bundle).first?.resource.value(of: "id") == own)
        }
    }
}
