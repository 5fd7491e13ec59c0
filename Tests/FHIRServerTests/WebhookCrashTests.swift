import AsyncHTTPClient
import Dispensing
import FHIRModel
import FHIRServer
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import RegistrySimulator
import SQLiteStore
import StoreTestSupport
import Testing

/// The headline of issue 23, item 3: a subscriber receives every `$dispense`/`$close`/`$reject`
/// event exactly once per idempotency key, in per-subscription order, although its receiver fails
/// 30 % of the attempts (and loses another 10 % of its answers) and the server is killed with
/// SIGKILL in the middle: `erx serve` as a child process on SQLite, and two instances on PostgreSQL
/// of which one is killed.
@Suite(.serialized)
struct WebhookCrashTests {
    static let receiverFaults = WebhookReceiverState.HookFaults(errorRate: 0.3, lostAnswerRate: 0.1)
    static let tasks = 6
    /// Per task: the accept, three `$dispense`, then `$close` (tasks 0–3) or `$reject` (4–5).
    /// `Task` hears accept 6 + dispense 18 + close 4 × 3 + reject 2 × 2 = 40; `MedicationDispense`
    /// hears dispense 18 + `dispensing.completed` 4 = 22.
    static let expected = 62

    /// The two subscriptions, their secrets registered with the receiver.
    static func subscribe(_ api: API, hooks: WebhookReceiverState, receiver: String) async throws -> [String] {
        var ids: [String] = []
        for (criteria, payload, name) in [("Task", Optional(WebhookPayload.fhirJSON), "all"), ("MedicationDispense", nil, "dispensed")] {
            let reply = try await api.send(.POST, "/Subscription", profession: .publicPharmacy, id: TestServer.pharmacyTelematikID,
                                           body: WebhookSubscriptionTests.subscription(criteria: criteria, endpoint: "\(receiver)/hook/\(name)", payload: payload))
            #expect(reply.status == 201)
            let id = try #require(reply.body?.value(of: "id"))
            let secret = try #require(reply.body?.extensions(WebhookSubscriptionTests.secretURL).first?.value(of: "valueString"))
            await hooks.setSecret(secret, for: id)
            ids.append(id)
        }
        return ids
    }

    static func finish(_ api: API, _ task: (id: String, secret: String), index: Int) async throws {
        let operation = index < 4 ? "$close" : "$reject"
        let reply = try await api.send(.POST, "/Task/\(task.id)/\(operation)?secret=\(task.secret)", profession: .publicPharmacy,
                                       id: TestServer.pharmacyTelematikID)
        #expect(reply.status == (index < 4 ? 200 : 204), "\(operation) of task \(index)")
    }

    /// Every key once, none unsigned, and per subscription in the order the server wrote them.
    static func expectExactlyOnceInOrder(_ hooks: WebhookReceiverState, written: [String: [String]], subscriptions: [String]) async {
        let report = await hooks.report()
        #expect(report.deliveries.count == expected)
        #expect(Set(report.deliveries.map(\.idempotencyKey)).count == report.deliveries.count, "each key recorded once")
        #expect(report.badSignatures == 0)
        #expect(written.values.map(\.count).reduce(0, +) == expected)
        for subscription in subscriptions {
            let received = report.deliveries.filter { $0.subscription == subscription }.map(\.idempotencyKey)
            #expect(received == written[subscription] ?? [], "subscription \(subscription): arrival order is write order")
        }
        print("webhook crash test: \(report.attempts) attempts, \(report.replays) replays dropped by key, \(report.deliveries.count) delivered")
    }

    @Test func aKilledServerDeliversEveryWebhookOnceAndInOrderAfterARestart() async throws {
        let hooks = WebhookReceiverState()
        await hooks.setFaults(Self.receiverFaults)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var quiet = Logger(label: "registry-sim")
        quiet.logLevel = .critical
        let simulator = RegistrySimulator.application(hooks: hooks, host: "127.0.0.1", port: 0, logger: quiet) {
            continuation.yield($0.localAddress?.port ?? 0)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-hookcrash-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await simulator.runService() }
            var iterator = ports.makeAsyncIterator()
            let receiver = "http://127.0.0.1:\(try #require(await iterator.next()))"
            let arguments = ["serve", "--port", "0", "--data", directory.path, "--accept-unsigned",
                             "--webhook-backoff-ms", "20", "--webhook-poll-ms", "10", "--webhook-max-attempts", "50",
                             "--webhook-timeout-ms", "1000", "--webhook-lease-ms", "2500"]
            var server = try await ServerProcess.start(arguments: arguments)
            defer { server.kill() }
            let key = try DevelopmentSigningKey.loadOrCreate(in: directory)
            var api = API(http: http, baseURL: server.baseURL, key: key)
            let subscriptions = try await Self.subscribe(api, hooks: hooks, receiver: receiver)
            var tasks: [(id: String, secret: String)] = []
            for index in 0..<Self.tasks { tasks.append(try await api.inProgressTask(kvnr: testKVNR(800 + index))) }
            for _ in 0..<2 {
                for (index, task) in tasks.enumerated() { try await api.dispense(task, kvnr: testKVNR(800 + index)) }
            }
            server.kill()

            let store = try SQLiteTaskStore(path: directory.appendingPathComponent("erx.sqlite").path)
            let pendingAtKill = try await store.webhookStatistics().pending
            try await store.close()
            #expect(pendingAtKill > 0, "nothing was pending at the kill; the test proves nothing")

            server = try await ServerProcess.start(arguments: arguments)
            api = API(http: http, baseURL: server.baseURL, key: key)
            for (index, task) in tasks.enumerated() { try await api.dispense(task, kvnr: testKVNR(800 + index)) }
            for (index, task) in tasks.enumerated() { try await Self.finish(api, task, index: index) }
            try await waitUntil(120) { await hooks.report().deliveries.count >= Self.expected }
            // The settlements follow the answers; give the relay a moment, then nothing may be pending.
            try await waitUntil(20) {
                let store = try SQLiteTaskStore.existing(at: directory.appendingPathComponent("erx.sqlite").path)
                let pending = try await store.webhookStatistics().pending
                try await store.close()
                return pending == 0
            }
            server.kill()
            let reading = try SQLiteTaskStore(path: directory.appendingPathComponent("erx.sqlite").path)
            let written = keysByFirstWord(try await reading.readUnchecked(sql: "SELECT subscription_id || ' ' || idempotency_key FROM webhook_delivery ORDER BY id"))
            try await reading.close()
            await Self.expectExactlyOnceInOrder(hooks, written: written, subscriptions: subscriptions)
            group.cancelAll()
        }
        try await http.shutdown()
    }

    @Test func twoInstancesOnPostgreSQLOneKilledDeliverEveryWebhookOnceAndInOrder() async throws {
        try await withInstances(2, shortLease: true, webhooks: true) { cluster in
            await cluster.hooks.setFaults(Self.receiverFaults)
            let subscriptions = try await Self.subscribe(cluster.api(0), hooks: cluster.hooks, receiver: cluster.simulatorURL)
            var tasks: [(id: String, secret: String)] = []
            for index in 0..<Self.tasks { tasks.append(try await cluster.api(index % 2).inProgressTask(kvnr: testKVNR(820 + index))) }
            for round in 0..<2 {
                for (index, task) in tasks.enumerated() { try await cluster.api((index + round) % 2).dispense(task, kvnr: testKVNR(820 + index)) }
            }
            cluster.kill(0)
            #expect(try await cluster.pendingDeliveries() > 0, "nothing was pending at the kill; the test proves nothing")
            for (index, task) in tasks.enumerated() { try await cluster.api(1).dispense(task, kvnr: testKVNR(820 + index)) }
            try await cluster.restart(0)
            for (index, task) in tasks.enumerated() { try await Self.finish(cluster.api(index % 2), task, index: index) }
            try await waitUntil(120) { await cluster.hooks.report().deliveries.count >= Self.expected }
            try await waitUntil(20) { try await cluster.pendingDeliveries() == 0 }
            await Self.expectExactlyOnceInOrder(cluster.hooks, written: try await cluster.webhookKeysInWriteOrder(), subscriptions: subscriptions)
        }
    }
}
