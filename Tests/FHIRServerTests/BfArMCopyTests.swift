import AsyncHTTPClient
import Dispensing
import FHIRModel
import FHIRServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOHTTP1
import RegistryClient
import RegistrySimulator
import SQLiteStore
import StoreTestSupport
import Testing

/// The BfArM carbon copy of closed T-Rezepte (A_27823, A_27828, A_27830; ARCHITECTURE decision 13):
/// written in the `$close` transaction, relayed to the simulator's BfArM stand-in exactly once per
/// idempotency key although the receiver fails 30 % of the attempts and loses another 10 % of its
/// answers, whatever the insurant objected to; and after a SIGKILL (SQLite) or with one of two
/// instances killed (PostgreSQL).
@Suite(.serialized)
struct BfArMCopyTests {
    static let faults = BfArMReceiverState.Faults(errorRate: 0.3, lostAnswerRate: 0.1)

    /// A development prescription (no KBV profile, so `$activate` runs only the PrescriptionID check)
    /// with the Medication the copy needs.
    static func prescription(id: String, kvnr: String) -> Element {
        var bundle = Bodies.prescription(id: id, kvnr: kvnr, authoredOn: CalendarDate.day(of: Date()))
        bundle.children.append(Element(name: "entry", children: [
            Element(name: "fullUrl", value: "urn:uuid:0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b03"),
            Element(name: "resource", children: [Element(name: "Medication", children: [
                Element(name: "id", value: "0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b03"),
                Element(name: "code", children: [
                    Element(name: "coding", children: [Element(name: "system", value: "http://fhir.de/CodeSystem/ifa/pzn"), Element(name: "code", value: "19201712")]),
                    Element(name: "text", value: "Pomalidomid Accord 1 mg 21 x 1 Hartkapseln"),
                ]),
            ])]),
        ]))
        return bundle
    }

    static func simulator(_ bfarm: BfArMReceiverState, _ body: @Sendable (String) async throws -> Void) async throws {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var quiet = Logger(label: "registry-sim")
        quiet.logLevel = .critical
        let simulator = RegistrySimulator.application(bfarm: bfarm, host: "127.0.0.1", port: 0, logger: quiet) {
            continuation.yield($0.localAddress?.port ?? 0)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await simulator.runService() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            try await body("http://127.0.0.1:\(port)")
            group.cancelAll()
        }
    }

    /// Every stored key arrived once; the copies the receiver holds are those the server wrote.
    static func expectExactlyOnce(_ bfarm: BfArMReceiverState, written: [String], expected: Int) async {
        let report = await bfarm.report()
        #expect(written.count == expected)
        #expect(report.copies.count == expected)
        #expect(Set(report.copies.map(\.idempotencyKey)) == Set(written), "each written copy arrived, under its key")
        #expect(Set(report.copies.map(\.idempotencyKey)).count == report.copies.count, "each key recorded once")
        #expect(report.refused == 0, "\(report.lastRefusal ?? "")")
        print("bfarm copy test: \(report.attempts) attempts, \(report.replays) replays answered 208, \(report.copies.count) recorded")
    }

    /// A_27830: which answers are tried again and which go to the dead letters.
    @Test(arguments: [(200, CarbonCopyRelay.Outcome.sent), (201, .sent), (208, .sent), (400, .refused), (422, .refused), (404, .refused),
                      (401, .retry), (429, .retry), (500, .retry), (503, .retry)])
    func answersA27830(_ status: Int, _ outcome: CarbonCopyRelay.Outcome) {
        #expect(CarbonCopyRelay.outcome(of: status) == outcome)
    }

    @Test(arguments: [StoreKind.sqlite, .postgresql])
    func everyCopyArrivesOnceWhateverTheInsurantObjectedTo(kind: StoreKind) async throws {
        let bfarm = BfArMReceiverState()
        await bfarm.setFaults(Self.faults)
        let server = try await TestServer(store: kind)
        defer { Task { await server.remove() } }
        let store = server.store
        try await Self.simulator(bfarm) { receiver in
            let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { raw in
                let client = Client(client: raw, format: .json, server: server)
                let factory = try await TaskFactory(client: client)
                var closed: [String] = []
                for index in 0..<3 {
                    let kvnr = testKVNR(700 + index)
                    let task = try await factory.prepare(.dispensed, kvnr: kvnr, flowType: 166, prescription: { Self.prescription(id: $0, kvnr: $1) })
                    // The insurant objected to the ePA (A_25951 ff.): no registry transfer, the BfArM copy all the same.
                    try await store.record(Objection(kvnr: KVNR(kvnr)!, category: .medication, source: .consentDecision, since: Date()))
                    #expect(try await client.send(.post, "/Task/\(task.id)/$close?secret=\(task.secret)", token: factory.pharmacy).status == .ok)
                    closed.append(task.id)
                }
                _ = try await factory.prepare(.completed, kvnr: testKVNR(710))  // a 160 task: no copy
                // Written with the `$close`, before any relay ran.
                #expect(try await store.carbonCopyStatistics().pending == 3)
                let completedTransfers = try await store.dueTransfers(now: Date(), limit: 100).entries
                    .filter { $0.operation == .provideDispensation && $0.status == .completed }.map(\.prescriptionID.rawValue)
                #expect(completedTransfers.count == 1, "the 160 task's, whose insurant did not object")
                #expect(Set(completedTransfers).isDisjoint(with: closed), "objected: no ePA transfer of the T-Rezepte")

                let http = HTTPClient(eventLoopGroupProvider: .singleton)
                var logger = Logger(label: "bfarm")
                logger.logLevel = .critical
                var configuration = CarbonCopyConfiguration(endpoint: receiver + "/ords/rezepte/t-rezept/v1")
                configuration.pollInterval = .milliseconds(10)
                configuration.backoff = RelayBackoff(base: .milliseconds(10), factor: 2, cap: .milliseconds(200))
                configuration.requestTimeout = .seconds(2)
                configuration.lease = .seconds(10)
                configuration.maximumAttempts = 1000
                let relay = CarbonCopyRelay(store: store, http: http, configuration: configuration, logger: logger)
                let running = Task { try await relay.run() }
                do {
                    try await waitUntil(60) { await bfarm.report().copies.count >= 3 }
                    try await waitUntil(30) { try await store.carbonCopyStatistics().pending == 0 }
                } catch {
                    running.cancel()
                    _ = await running.result
                    try? await http.shutdown()
                    throw error
                }
                running.cancel()
                _ = await running.result
                try await http.shutdown()

                let written = try await store.readUnchecked(sql: "SELECT idempotency_key FROM carbon_copy ORDER BY id").compactMap { $0 }
                await Self.expectExactlyOnce(bfarm, written: written, expected: 3)
                #expect(Set(await bfarm.report().copies.map(\.prescriptionID)) == Set(closed))
            }
        }
    }
}

extension API {
    /// A 166 task taken through `$close`; its id.
    func closedTPrescription(kvnr: String) async throws -> String {
        let created = try await send(.POST, "/Task/$create", profession: .doctorsPractice, id: TestServer.doctorTelematikID,
                                     body: Bodies.createParameters(flowType: 166))
        let task = try #require(created.body)
        let id = task.value(of: "id") ?? ""
        let accessCode = task.children(named: "identifier").first { $0.value(of: "system") == Systems.accessCode }?.value(of: "value") ?? ""
        let activated = try await send(.POST, "/Task/\(id)/$activate?ac=\(accessCode)", profession: .doctorsPractice, id: TestServer.doctorTelematikID,
                                       body: BfArMCopyTests.prescription(id: id, kvnr: kvnr))
        #expect(activated.status == 200)
        let accepted = try await send(.POST, "/Task/\(id)/$accept?ac=\(accessCode)", profession: .publicPharmacy, id: TestServer.pharmacyTelematikID)
        let secret = accepted.body?.child("entry")?.child("resource")?.wrappedResource?.children(named: "identifier")
            .first { $0.value(of: "system") == Systems.secret }?.value(of: "value") ?? ""
        try await dispense((id, secret), kvnr: kvnr)
        let closed = try await send(.POST, "/Task/\(id)/$close?secret=\(secret)", profession: .publicPharmacy, id: TestServer.pharmacyTelematikID)
        #expect(closed.status == 200)
        return id
    }
}

/// The crash tests: `erx serve` processes, killed with SIGKILL.
@Suite(.serialized)
struct BfArMCopyCrashTests {
    static let tasks = 4

    /// SQLite: the BfArM is down while the T-Rezepte are closed, the server is killed with the copies
    /// pending (some tried); after the restart each arrives once, under the key written at `$close`.
    @Test func aKilledServerSendsEveryCopyOnceAfterARestart() async throws {
        let bfarm = BfArMReceiverState()
        await bfarm.setFaults(.init(errorRate: 1))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-bfarmcrash-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        // Shut down on every path: a client left to its deinit stops the test process.
        defer { Task { try? await http.shutdown() } }
        try await BfArMCopyTests.simulator(bfarm) { receiver in
            let arguments = ["serve", "--port", "0", "--data", directory.path, "--accept-unsigned",
                             "--bfarm-url", receiver + "/ords/rezepte/t-rezept/v1", "--bfarm-backoff-ms", "20", "--bfarm-poll-ms", "10",
                             "--bfarm-max-attempts", "1000", "--bfarm-timeout-ms", "1000", "--bfarm-lease-ms", "2500"]
            var server = try await ServerProcess.start(arguments: arguments)
            defer { server.kill() }
            let key = try DevelopmentSigningKey.loadOrCreate(in: directory)
            var api = API(http: http, baseURL: server.baseURL, key: key)
            for index in 0..<Self.tasks { _ = try await api.closedTPrescription(kvnr: testKVNR(900 + index)) }
            try await waitUntil(60) { await bfarm.report().attempts > 0 }
            server.kill()
            let path = directory.appendingPathComponent("erx.sqlite").path
            let store = try SQLiteTaskStore(path: path)
            #expect(try await store.carbonCopyStatistics().pending == Self.tasks, "the copies wait after the kill")
            try await store.close()

            await bfarm.setFaults(BfArMCopyTests.faults)
            server = try await ServerProcess.start(arguments: arguments)
            api = API(http: http, baseURL: server.baseURL, key: key)
            try await waitUntil(120) { await bfarm.report().copies.count >= Self.tasks }
            try await waitUntil(60) {
                let store = try SQLiteTaskStore.existing(at: path)
                let pending = try await store.carbonCopyStatistics().pending
                try await store.close()
                return pending == 0
            }
            server.kill()
            let reading = try SQLiteTaskStore(path: path)
            let written = try await reading.readUnchecked(sql: "SELECT idempotency_key FROM carbon_copy ORDER BY id").compactMap { $0 }
            try await reading.close()
            await BfArMCopyTests.expectExactlyOnce(bfarm, written: written, expected: Self.tasks)
        }
    }

    /// PostgreSQL: two instances close T-Rezepte; one is killed while the BfArM fails and loses
    /// answers; the other takes its claims over once they run out, and each copy arrives once.
    @Test func twoInstancesOnPostgreSQLOneKilledSendEveryCopyOnce() async throws {
        try await withInstances(2, shortLease: true) { cluster in
            await cluster.bfarm.setFaults(BfArMCopyTests.faults)
            for index in 0..<Self.tasks { _ = try await cluster.api(index % 2).closedTPrescription(kvnr: testKVNR(920 + index)) }
            cluster.kill(0)
            try await waitUntil(120) { await cluster.bfarm.report().copies.count >= Self.tasks }
            try await waitUntil(60) { try await cluster.carbonCopies().pending == 0 }
            await BfArMCopyTests.expectExactlyOnce(cluster.bfarm, written: try await cluster.carbonCopies().keys, expected: Self.tasks)
        }
    }
}
