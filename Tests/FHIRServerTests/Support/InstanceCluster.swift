import AsyncHTTPClient
import Dispensing
import FHIRServer
import Foundation
import Hummingbird
import NIOCore
import Logging
import PostgreSQLStore
import RegistrySimulator
import StoreTestSupport
import Testing

/// Several `erx serve` processes on one fresh PostgreSQL database and one data directory (the
/// shared keys), sending to one in-process registry simulator, as behind a load balancer (issue 21).
final class InstanceCluster: @unchecked Sendable {
    let registry = SimulatorState()
    /// The simulator's webhook receiver (`POST /hook/{name}`), on the same port as the registry.
    let hooks = WebhookReceiverState()
    /// The simulator's BfArM stand-in (`POST /ords/rezepte/t-rezept/v1`), on the same port.
    let bfarm = BfArMReceiverState()
    /// The simulator's base URL, once it listens.
    private(set) var simulatorURL = ""
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-cluster-\(UUID().uuidString)")
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    private let lock = NSLock()
    private var instances: [ServerProcess?] = []
    private var arguments: [String] = []
    private var environment: [String: String] = [:]
    private var configuration: PostgreSQLStoreConfiguration?

    /// `instances` processes on a fresh database; `body` runs with them; everything is stopped and
    /// removed afterwards.
    /// `shortLease`: claims that pass to another instance within the test once their holder is
    /// killed (1.5 s, with a 1 s registry timeout); otherwise the defaults (30 s, 10 s), so that on
    /// busy cores no claim runs out under a live relay.
    /// `webhooks`: the webhook relays poll every 10 ms (for the webhook tests); otherwise at their
    /// default, so that the instances of the other tests do not spend the shared cores polling.
    /// `extraArguments`: further `erx serve` options of every instance.
    static func with(_ count: Int, registryErrorRate: Double = 0, shortLease: Bool = false, webhooks: Bool = false, extraArguments: [String] = [],
                     _ body: (InstanceCluster) async throws -> Void) async throws {
        let cluster = InstanceCluster()
        let (configuration, drop) = try await TestPostgres.freshDatabase()
        cluster.configuration = configuration
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var quiet = Logger(label: "registry-sim")
        quiet.logLevel = .critical
        let simulator = RegistrySimulator.application(state: cluster.registry, hooks: cluster.hooks, bfarm: cluster.bfarm, host: "127.0.0.1", port: 0, logger: quiet) {
            continuation.yield($0.localAddress?.port ?? 0)
        }
        await cluster.registry.setFaults(Faults(errorRate: registryErrorRate))
        defer { try? FileManager.default.removeItem(at: cluster.directory) }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await simulator.runService() }
                var iterator = ports.makeAsyncIterator()
                let registryPort = try #require(await iterator.next())
                cluster.simulatorURL = "http://127.0.0.1:\(registryPort)"
                cluster.arguments = [
                    "serve", "--port", "0", "--data", cluster.directory.path, "--accept-unsigned",
                    "--database", "postgres://\(configuration.user)@\(configuration.host):\(configuration.port)/\(configuration.database)",
                    "--database-pool-size", "8", "--database-timeout-ms", "30000",
                    // Transfers never go to the dead letters here: these tests are about exactly once and
                    // order, and a loaded machine's timeouts on top of the injected errors could use up
                    // the production default of 8 attempts, so one transfer would never arrive.
                    "--registry", "http://127.0.0.1:\(registryPort)", "--relay-backoff-ms", "20", "--relay-poll-ms", "10", "--relay-max-attempts", "1000",
                    "--bfarm-url", "http://127.0.0.1:\(registryPort)/ords/rezepte/t-rezept/v1", "--bfarm-backoff-ms", "20", "--bfarm-max-attempts", "1000",
                ] + (webhooks ? ["--webhook-backoff-ms", "20", "--webhook-poll-ms", "10", "--webhook-max-attempts", "50"] : [])
                  + (shortLease ? ["--registry-timeout-ms", "1000", "--relay-lease-ms", "1500", "--webhook-timeout-ms", "1000", "--webhook-lease-ms", "2500",
                                   "--bfarm-timeout-ms", "1000", "--bfarm-lease-ms", "2500"] : [])
                  + extraArguments
                cluster.environment = ["ERX_DATABASE_PASSWORD": configuration.password ?? ""]
                for _ in 0..<count {
                    let process = try await ServerProcess.start(arguments: cluster.arguments, environment: cluster.environment)
                    cluster.lock.withLock { cluster.instances.append(process) }
                }
                defer { cluster.killAll() }
                try await body(cluster)
                group.cancelAll()
            }
        } catch {
            try? await cluster.http.shutdown()
            await drop()
            throw error
        }
        try await cluster.http.shutdown()
        await drop()
    }

    /// The API of instance `index` (the same development key for all: one data directory).
    func api(_ index: Int) -> API {
        let baseURL = lock.withLock { instances[index]?.baseURL ?? "http://127.0.0.1:1" }
        return API(http: http, baseURL: baseURL, key: try! DevelopmentSigningKey.loadOrCreate(in: directory))
    }

    /// SIGKILL: no graceful shutdown, claims and connections left as they are.
    func kill(_ index: Int) {
        lock.withLock { instances[index] }?.kill()
    }

    func killAll() {
        for process in lock.withLock({ instances }) { process?.kill() }
    }

    /// Starts instance `index` again (on a new port).
    func restart(_ index: Int) async throws {
        let process = try await ServerProcess.start(arguments: arguments, environment: environment)
        lock.withLock { instances[index] = process }
    }

    /// How many transfers wait in the outbox.
    func pendingTransfers() async throws -> Int {
        let store = try await PostgreSQLTaskStore.open(try #require(configuration), logger: TestPostgres.logger, migrating: false)
        let statistics = try await store.outboxStatistics()
        await store.close()
        return statistics.pending
    }

    /// Every webhook delivery's idempotency key by subscription, in write order.
    func webhookKeysInWriteOrder() async throws -> [String: [String]] {
        let store = try await PostgreSQLTaskStore.open(try #require(configuration), logger: TestPostgres.logger, migrating: false)
        let rows = try await store.readUnchecked(sql: "SELECT subscription_id || ' ' || idempotency_key FROM webhook_delivery ORDER BY id")
        await store.close()
        return keysByFirstWord(rows)
    }

    /// How many webhook deliveries wait.
    func pendingDeliveries() async throws -> Int {
        let store = try await PostgreSQLTaskStore.open(try #require(configuration), logger: TestPostgres.logger, migrating: false)
        let statistics = try await store.webhookStatistics()
        await store.close()
        return statistics.pending
    }

    /// The BfArM copies' idempotency keys, in write order, and how many still wait.
    func carbonCopies() async throws -> (keys: [String], pending: Int) {
        let store = try await PostgreSQLTaskStore.open(try #require(configuration), logger: TestPostgres.logger, migrating: false)
        let keys = try await store.readUnchecked(sql: "SELECT idempotency_key FROM carbon_copy ORDER BY id").compactMap { $0 }
        let pending = try await store.carbonCopyStatistics().pending
        await store.close()
        return (keys, pending)
    }

    /// Every outbox row's idempotency key by task, in write order, read from the database.
    func outboxKeysInWriteOrder() async throws -> [String: [String]] {
        let store = try await PostgreSQLTaskStore.open(try #require(configuration), logger: TestPostgres.logger, migrating: false)
        let rows = try await store.readUnchecked(sql: "SELECT task_id || ' ' || idempotency_key FROM outbox ORDER BY id")
        await store.close()
        var keys: [String: [String]] = [:]
        for row in rows.compactMap({ $0 }) {
            let parts = row.split(separator: " ")
            keys[String(parts[0]), default: []].append(String(parts[1]))
        }
        return keys
    }
}

/// `body` with `count` instances (see ``InstanceCluster``).
func withInstances(_ count: Int, registryErrorRate: Double = 0, shortLease: Bool = false, webhooks: Bool = false, extraArguments: [String] = [],
                   _ body: (InstanceCluster) async throws -> Void) async throws {
    try await InstanceCluster.with(count, registryErrorRate: registryErrorRate, shortLease: shortLease, webhooks: webhooks,
                                   extraArguments: extraArguments, body)
}

/// `first second` rows grouped by the first word, the second words in row order.
func keysByFirstWord(_ rows: [String?]) -> [String: [String]] {
    var keys: [String: [String]] = [:]
    for row in rows.compactMap({ $0 }) {
        let parts = row.split(separator: " ")
        guard parts.count == 2 else { continue }
        keys[String(parts[0]), default: []].append(String(parts[1]))
    }
    return keys
}
