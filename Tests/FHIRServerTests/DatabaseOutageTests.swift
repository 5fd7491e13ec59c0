import AsyncHTTPClient
import Dispensing
import FHIRModel
import FHIRServer
import Foundation
import NIOCore
import NIOHTTP1
import StoreTestSupport
import Testing

/// Issue 21, item 5: PostgreSQL stopped under load. Requests are answered 503 with an
/// OperationOutcome within a bound (none hangs), `/health/ready` says so, and once the database is
/// back the same instance serves again without a restart; every write answered 2xx is there.
/// The test stops a cluster of its own (the shared test cluster serves the other tests meanwhile).
@Suite(.serialized)
struct DatabaseOutageTests {
    @Test func aStoppedDatabaseGives503sThenTheInstanceRecoversByItself() async throws {
        let cluster = try await PrivateCluster.start()
        do {
            try await outage(on: cluster)
        } catch {
            await cluster.destroy()
            throw error
        }
        await cluster.destroy()
    }

    private func outage(on cluster: PrivateCluster) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-outage-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await ServerProcess.start(
            arguments: ["serve", "--port", "0", "--data", directory.path, "--accept-unsigned", "--database", cluster.url, "--database-timeout-ms", "1000"],
            environment: ["ERX_DATABASE_PASSWORD": cluster.password]
        )
        defer { server.kill() }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let api = API(http: http, baseURL: server.baseURL, key: try DevelopmentSigningKey.loadOrCreate(in: directory))
        var tasks: [(id: String, secret: String, kvnr: String)] = []
        for person in 0..<4 {
            let kvnr = testKVNR(9_500 + person)
            let task = try await api.inProgressTask(kvnr: kvnr)
            tasks.append((task.id, task.secret, kvnr))
        }
        let log = OutageLog()
        let loadTasks = tasks
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for (index, task) in loadTasks.enumerated() {
                    group.addTask {
                        var round = 0
                        while !Task.isCancelled {
                            round += 1
                            let day = String(format: "2026-10-%02d", (round + index) % 27 + 1)
                            let started = ContinuousClock.now
                            var reply: (status: Int, body: Element?)?
                            var failure: String?
                            do {
                                reply = try await api.send(.POST, "/Task/\(task.id)/$dispense?secret=\(task.secret)", profession: .publicPharmacy,
                                                           id: TestServer.pharmacyTelematikID,
                                                           body: Bodies.dispense(id: task.id, count: 1, kvnr: task.kvnr, handedOver: day))
                            } catch {
                                failure = String(describing: error)
                            }
                            await log.record(task.id, day: day, status: reply?.status ?? 0, issue: reply?.body.flatMap(Self.issueCode),
                                             took: ContinuousClock.now - started, failure: failure,
                                             cutOff: Task.isCancelled)
                            try? await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
            }
        }
        try await Task.sleep(for: .seconds(1))
        try await cluster.stop()
        try await Task.sleep(for: .seconds(4))
        #expect(try await Self.readiness(http, server.baseURL) == 503)
        try await cluster.restart()
        try await waitUntil(30) { try await Self.readiness(http, server.baseURL) == 200 }
        await log.mark()
        try await waitUntil(30) { await log.successesSinceMark() >= 8 }
        load.cancel()
        await load.value

        let outcomes = await log.all
        let unavailable = outcomes.filter { $0.status == 503 }
        #expect(!unavailable.isEmpty, "no request came while the database was down")
        #expect(unavailable.allSatisfy { $0.issue == "transient" })
        // Bounded: the pool's wait (1 s), the statements' bound (2 s) and the watchdog's grace (1 s),
        // never the client's 30 s (the margin is for busy CI cores).
        #expect(outcomes.allSatisfy { $0.took < .seconds(12) }, "a request hung: \(outcomes.map(\.took).max()!)")
        // Every request is answered, 204 or 503 (a client error is shown), but those the test's own
        // end of the load cut off: their answers went to nobody (their writes may still be stored).
        let answered = outcomes.filter { !$0.cutOff }
        #expect(answered.allSatisfy { [204, 503].contains($0.status) }, "\(answered.filter { $0.status == 0 }.map { $0.failure ?? "?" })")
        // Every acknowledged write is there: the last set answered 204 per task is the stored one.
        for task in tasks {
            guard let last = outcomes.last(where: { $0.id == task.id && $0.status == 204 }) else { continue }
            // Or the next one, had the database stopped between its commit and the answer.
            let next = outcomes.first { $0.id == task.id && $0.index > last.index }
            let read = try await api.send(.GET, "/MedicationDispense?identifier=\(Systems.prescriptionID)|\(task.id)", profession: .insurant, id: task.kvnr)
            let days = MultiInstanceTests.dispensations(in: read.body).compactMap { $0.value(of: "whenHandedOver") }
            #expect(days == [last.day] || days == next.map { [$0.day] }, "task \(task.id): acknowledged \(last.day), stored \(days)")
        }
        try await http.shutdown()
    }

    static func readiness(_ http: HTTPClient, _ baseURL: String) async throws -> Int {
        let response = try await http.execute(HTTPClientRequest(url: baseURL + "/health/ready"), timeout: .seconds(10))
        return Int(response.status.code)
    }

    static func issueCode(_ outcome: Element) -> String? {
        outcome.child("issue")?.value(of: "code")
    }
}

actor OutageLog {
    struct Outcome: Sendable {
        var id: String
        var day: String
        var status: Int
        var issue: String?
        var took: Duration
        /// The client's error when no answer came (status 0).
        var failure: String?
        /// Sent, then cut off by the test stopping its load.
        var cutOff: Bool
        var index: Int
    }

    private(set) var all: [Outcome] = []
    private var markIndex = Int.max

    func record(_ id: String, day: String, status: Int, issue: String?, took: Duration, failure: String?, cutOff: Bool) {
        all.append(Outcome(id: id, day: day, status: status, issue: issue, took: took, failure: failure, cutOff: cutOff, index: all.count))
    }

    func mark() { markIndex = all.count }

    func successesSinceMark() -> Int { all.filter { $0.index >= markIndex && $0.status == 204 }.count }
}
