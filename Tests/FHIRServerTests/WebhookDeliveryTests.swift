import AsyncHTTPClient
import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import RegistryClient
import RegistrySimulator
import StoreTestSupport
import Testing

/// Webhook deliveries in one process (issue 23, item 3): the server over loopback, the relay, and
/// the simulator's receiver, on both stores. The events are written with the change (before any
/// relay runs), reach exactly the matching subscriptions, signed, with the documented body.
@Suite struct WebhookDeliveryTests {
    /// The simulator (receiver only) on a free port; `body` gets its base URL.
    static func withReceiver<T: Sendable>(_ hooks: WebhookReceiverState, _ body: @Sendable (String) async throws -> T) async throws -> T {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var quiet = Logger(label: "registry-sim")
        quiet.logLevel = .critical
        let simulator = RegistrySimulator.application(hooks: hooks, host: "127.0.0.1", port: 0, logger: quiet) {
            continuation.yield($0.localAddress?.port ?? 0)
        }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await simulator.runService(); return nil }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let result = try await body("http://127.0.0.1:\(port)")
            group.cancelAll()
            return result
        }
    }

    static func create(_ client: Client, token: String, criteria: String, endpoint: String, payload: String?) async throws -> (id: String, secret: String) {
        let reply = try await client.send(.post, "/Subscription", token: token,
                                          body: WebhookSubscriptionTests.subscription(criteria: criteria, endpoint: endpoint, payload: payload))
        #expect(reply.status == .created)
        let resource = try reply.resource()
        return (resource.value(of: "id") ?? "", resource.extensions(WebhookSubscriptionTests.secretURL).first?.value(of: "valueString") ?? "")
    }

    static var fastRelay: WebhookConfiguration {
        var configuration = WebhookConfiguration()
        configuration.pollInterval = .milliseconds(10)
        configuration.backoff = RelayBackoff(base: .milliseconds(10), factor: 2, cap: .milliseconds(200))
        configuration.requestTimeout = .seconds(2)
        configuration.lease = .seconds(10)
        return configuration
    }

    @Test(arguments: [StoreKind.sqlite, .postgresql])
    func eachEventReachesTheMatchingSubscriptionsSignedAndInOrder(kind: StoreKind) async throws {
        let hooks = WebhookReceiverState()
        await hooks.setFaults(.init(errorRate: 0.3))
        let server = try await TestServer(store: kind)
        defer { Task { await server.remove() } }
        let webhooks = try #require(server.store as? any WebhookStore)
        try await Self.withReceiver(hooks) { receiver in
            let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { raw in
                let client = Client(client: raw, format: .json, server: server)
                let pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
                let other = try await server.token(.publicPharmacy, id: TestServer.otherPharmacyTelematikID)
                let all = try await Self.create(client, token: pharmacy, criteria: "Task", endpoint: receiver + "/hook/all", payload: WebhookPayload.fhirJSON)
                let done = try await Self.create(client, token: pharmacy, criteria: "Task?_event=dispensing.completed", endpoint: receiver + "/hook/done", payload: nil)
                let theirs = try await Self.create(client, token: other, criteria: "Task", endpoint: receiver + "/hook/theirs", payload: nil)
                for subscription in [all, done, theirs] { await hooks.setSecret(subscription.secret, for: subscription.id) }

                let factory = try await TaskFactory(client: client)
                let closed = try await factory.prepare(.inProgress)
                let rejected = try await factory.prepare(.inProgress)
                let aborted = try await factory.prepare(.inProgress)
                #expect(try await client.send(.post, "/Task/\(closed.id)/$dispense?secret=\(closed.secret)", token: pharmacy,
                                              body: Bodies.dispense(id: closed.id, count: 1)).status == .noContent)
                #expect(try await client.send(.post, "/Task/\(closed.id)/$close?secret=\(closed.secret)", token: pharmacy).status == .ok)
                #expect(try await client.send(.post, "/Task/\(rejected.id)/$reject?secret=\(rejected.secret)", token: pharmacy).status == .noContent)
                #expect(try await client.send(.post, "/Task/\(aborted.id)/$abort?secret=\(aborted.secret)", token: pharmacy).status == .noContent)
                // Written with the changes, before any relay ran.
                #expect(try await webhooks.webhookStatistics().pending == 12)

                let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: WebhookRelay.httpConfiguration)
                var logger = Logger(label: "webhooks")
                logger.logLevel = .critical
                let relay = WebhookRelay(store: webhooks, http: http, configuration: Self.fastRelay, metrics: nil, logger: logger)
                let running = Task { try await relay.run() }
                try await waitUntil(60) { await hooks.report().deliveries.count >= 12 }
                try await waitUntil(10) { try await webhooks.webhookStatistics().pending == 0 }
                running.cancel()
                _ = await running.result
                try await http.shutdown()

                let report = await hooks.report()
                #expect(report.badSignatures == 0)
                #expect(report.deliveries.count == 12)
                let toAll = report.deliveries.filter { $0.endpoint == "all" }
                #expect(toAll.map(\.event) == [
                    "task.status-changed", "task.status-changed", "task.status-changed",  // the three $accept
                    "dispense.recorded", "dispensing.completed", "prescription.fully_dispensed", "task.status-changed",  // $dispense, $close
                    "dispensing.cancelled", "task.status-changed",  // $reject
                    "dispensing.cancelled", "task.status-changed",  // $abort
                ])
                #expect(toAll.allSatisfy { $0.subscription == all.id && $0.body.contains("\"resourceType\":\"Parameters\"") })
                try #require(toAll.count == 11)
                #expect(toAll[3].body.contains("\"reference\":\"Task/\(closed.id)\""))
                #expect(toAll[8].body.contains("\"valueCode\":\"ready\""))
                #expect(toAll[10].body.contains("\"valueCode\":\"cancelled\""))
                let toDone = report.deliveries.filter { $0.endpoint == "done" }
                #expect(toDone.map(\.event) == ["dispensing.completed"])
                #expect(toDone.first?.body == "", "no channel.payload: an empty notification")
                #expect(!report.deliveries.contains { $0.endpoint == "theirs" }, "another pharmacy's subscription hears nothing of these tasks")
                #expect(Set(report.deliveries.map(\.idempotencyKey)).count == 12)
            }
        }
    }

    @Test(arguments: [StoreKind.sqlite, .postgresql])
    func aDeletedSubscriptionsPendingDeliveriesAreDroppedAndAFailingOneDeadLetters(kind: StoreKind) async throws {
        let hooks = WebhookReceiverState()
        await hooks.setFaults(.init(errorRate: 1))
        let server = try await TestServer(store: kind)
        defer { Task { await server.remove() } }
        let webhooks = try #require(server.store as? any WebhookStore)
        try await Self.withReceiver(hooks) { receiver in
            let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { raw in
                let client = Client(client: raw, format: .json, server: server)
                let pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
                let failing = try await Self.create(client, token: pharmacy, criteria: "Task", endpoint: receiver + "/hook/failing", payload: nil)
                let removed = try await Self.create(client, token: pharmacy, criteria: "Task", endpoint: receiver + "/hook/removed", payload: nil)
                _ = try await TaskFactory(client: client).prepare(.inProgress)
                #expect(try await webhooks.webhookStatistics().pending == 2)
                #expect(try await client.send(.delete, "/Subscription/\(removed.id)", token: pharmacy).status == .noContent)
                #expect(try await webhooks.webhookStatistics().pending == 1)

                let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: WebhookRelay.httpConfiguration)
                var configuration = Self.fastRelay
                configuration.maximumAttempts = 3
                var logger = Logger(label: "webhooks")
                logger.logLevel = .critical
                let relay = WebhookRelay(store: webhooks, http: http, configuration: configuration, metrics: nil, logger: logger)
                let running = Task { try await relay.run() }
                try await waitUntil(30) { try await webhooks.webhookStatistics().dead == 1 }
                running.cancel()
                _ = await running.result
                try await http.shutdown()
                #expect(try await webhooks.webhookStatistics().pending == 0)
                #expect(await hooks.report().attempts == 3, "three attempts, then the dead letters")
                _ = failing
            }
        }
    }
}
