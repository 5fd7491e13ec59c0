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

/// The pharmacy's worklist `GET /Task?status=…` (ours, issue 24 item 5) over a real socket, on both
/// stores, in JSON and XML: own tasks only, by acceptance, paged in the store; and the FD's answers
/// to every other pharmacy `GET /Task` unchanged (A_25208-01, A_22432-02, fd-parity §1.3).
@Suite struct PharmacyWorklistTests {
    typealias R = InsurantReadTests

    struct Harness {
        let client: Client
        let factory: TaskFactory
        let other: String
        let insurant: String

        /// The page's task ids, and the bundle (validated against the profiles it claims).
        func list(_ query: String, token: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> (ids: [String], bundle: Element) {
            let reply = try await client.send(.get, "/Task?\(query)", token: token ?? factory.pharmacy)
            #expect(reply.status == .ok, "\(query): \(String(decoding: reply.bytes.prefix(400), as: UTF8.self))", sourceLocation: sourceLocation)
            let bundle = try reply.resource()
            if AnswerValidator.packagesAvailable {
                AnswerValidator.validate(bundle, route: "\(client.format) GET /Task?\(query)", tally: AnswerValidator.Tally(), sourceLocation: sourceLocation)
            }
            return (R.entries(bundle).compactMap { $0.resource.value(of: "id") }, bundle)
        }

        /// Accepts a ready task as the other pharmacy.
        func acceptAsOther(_ prepared: TaskFactory.Prepared) async throws {
            let reply = try await client.send(.post, "/Task/\(prepared.id)/$accept?ac=\(prepared.accessCode)", token: other)
            #expect(reply.status == .ok)
        }
    }

    func live(_ kind: StoreKind, _ format: WireFormat, _ body: @escaping @Sendable (Harness) async throws -> Void) async throws {
        if AnswerValidator.packagesAvailable { await AnswerValidator.loaded() }
        let server = try await TestServer(store: kind)
        defer { Task { await server.remove() } }
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let client = Client(client: client, format: format, server: server)
            let other = try await server.token(.hospitalPharmacy, id: TestServer.otherPharmacyTelematikID)
            let insurant = try await server.token(.insurant, id: TestServer.kvnr)
            try await body(Harness(client: client, factory: try await TaskFactory(client: client), other: other, insurant: insurant))
        }
    }

    /// Own tasks only, oldest acceptance first (`-accepted` newest first), any status it owns, no
    /// Secret (A_21532-02) and no AccessCode (fd-parity §2.4); the other pharmacy sees its own.
    @Test(arguments: StoreKind.allCases, R.formats)
    func theWorklistListsOwnTasksByAcceptance(kind: StoreKind, format: WireFormat) async throws {
        try await live(kind, format) { h in
            let first = try await h.factory.prepare(.inProgress)
            let foreign = try await h.factory.prepare(.ready)
            try await h.acceptAsOther(foreign)
            let second = try await h.factory.prepare(.dispensed)
            let closed = try await h.factory.prepare(.completed)
            _ = try await h.factory.prepare(.ready)

            let inProgress = try await h.list("status=in-progress")
            #expect(inProgress.ids == [first.id, second.id])
            #expect(inProgress.bundle.value(of: "total") == "2")
            #expect(inProgress.bundle.value(of: "type") == "searchset")
            for (fullUrl, task) in R.entries(inProgress.bundle) {
                #expect(fullUrl == "http://erx.test/Task/\(task.value(of: "id") ?? "")")
                #expect(task.descendant("owner", "identifier")?.value(of: "value") == TestServer.pharmacyTelematikID)
                #expect(R.identifierValue(task, Systems.secret) == nil)
                #expect(R.identifierValue(task, Systems.accessCode) == nil)
                #expect(task.value(of: "status") == "in-progress")
            }
            #expect(try await h.list("status=in-progress&_sort=-accepted").ids == [second.id, first.id])
            #expect(try await h.list("status=completed").ids == [closed.id])
            #expect(try await h.list("status=in-progress,completed").ids == [first.id, second.id, closed.id])
            #expect(try await h.list("status=ready").ids == [])
            #expect(try await h.list("status=in-progress", token: h.other).ids == [foreign.id])
            // `$reject` gives the task back: it leaves the worklist.
            let rejected = try await h.client.send(.post, "/Task/\(first.id)/$reject?secret=\(first.secret)", token: h.factory.pharmacy)
            #expect(rejected.status == .noContent)
            #expect(try await h.list("status=in-progress").ids == [second.id])
        }
    }

    /// A_24441-01…A_24444 as the Task search pages: `_count`, `__offset`, `total`, the five links
    /// repeating the applied parameters only, `_summary=count`.
    @Test(arguments: StoreKind.allCases, R.formats)
    func theWorklistPagesInTheStore(kind: StoreKind, format: WireFormat) async throws {
        try await live(kind, format) { h in
            var ids: [String] = []
            for _ in 0..<3 { ids.append(try await h.factory.prepare(.inProgress).id) }
            let first = try await h.list("status=in-progress&_count=2&authored-on=ge2020-01-01")
            #expect(first.ids == Array(ids[0..<2]))
            #expect(first.bundle.value(of: "total") == "3")
            let links = R.links(first.bundle)
            #expect(links["self"] == "http://erx.test/Task?status=in-progress&_count=2&__offset=0")
            #expect(links["next"] == "http://erx.test/Task?status=in-progress&_count=2&__offset=2")
            #expect(links["last"] == "http://erx.test/Task?status=in-progress&_count=2&__offset=2")
            #expect(links["prev"] == nil)
            let second = try await h.list("status=in-progress&_count=2&__offset=2&_sort=accepted")
            #expect(second.ids == [ids[2]])
            #expect(R.links(second.bundle)["prev"] == "http://erx.test/Task?status=in-progress&_sort=accepted&_count=2&__offset=0")
            #expect(R.links(second.bundle)["next"] == nil)
            let beyond = try await h.list("status=in-progress&__offset=10")
            #expect(beyond.ids.isEmpty && beyond.bundle.value(of: "total") == "3")
            let count = try await h.list("status=in-progress&_summary=count")
            #expect(count.ids.isEmpty && count.bundle.value(of: "total") == "3")
            let refused = try await h.client.send(.get, "/Task?status=in-progress&_count=0", token: h.factory.pharmacy)
            try EgkRedemptionTests.expect(refused, 400, "_count zero is not supported", "invalid")
        }
    }

    /// Every request the FD defines keeps its answer: without `status` the PNW form's 455
    /// (A_25208-01); with a proof parameter the eGK checks (403 `Invalid Kvnr`); with
    /// `X-PoPP-Token` the PoPP form (A_22432-02); no Telematik-ID 400; the insurant's search as ever.
    @Test(arguments: R.formats)
    func theFDsAnswersStay(format: WireFormat) async throws {
        try await live(.sqlite, format) { h in
            let task = try await h.factory.prepare(.inProgress)
            try EgkRedemptionTests.expect(try await h.client.send(.get, "/Task", token: h.factory.pharmacy), 455,
                                          "Ein Prüfnachweis ohne KVNR wird nicht akzeptiert.")
            try EgkRedemptionTests.expect(try await h.client.send(.get, "/Task?_count=5", token: h.factory.pharmacy), 455,
                                          "Ein Prüfnachweis ohne KVNR wird nicht akzeptiert.")
            for proof in ["kvnr=bad", "pnw=x&kvnr=bad", "hcv=x&kvnr=bad", "PNW=x&kvnr=bad"] {
                try EgkRedemptionTests.expect(try await h.client.send(.get, "/Task?status=in-progress&\(proof)", token: h.factory.pharmacy), 403,
                                              "Invalid Kvnr")
            }
            let popp = try await h.client.send(.get, "/Task?status=in-progress", token: h.factory.pharmacy,
                                               headers: [HTTPField.Name("X-PoPP-Token")!: "x.y.z"])
            #expect(popp.status.code == 403)
            let anonymous = try await h.client.server.token(.publicPharmacy, id: nil)
            try EgkRedemptionTests.expect(try await h.client.send(.get, "/Task?status=in-progress", token: anonymous), 400,
                                          "No valid Telematik-ID in JWT", "invalid")
            let insurant = try await h.list("status=in-progress", token: h.insurant)
            #expect(insurant.ids == [task.id])
            #expect(R.identifierValue(R.entries(insurant.bundle)[0].resource, Systems.accessCode) != nil)
        }
    }
}
