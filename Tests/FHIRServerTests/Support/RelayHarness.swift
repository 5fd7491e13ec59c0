import AsyncHTTPClient
import Dispensing
import FHIRModel
import FHIRServer
import FHIRValidation
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Logging
import Prometheus
import RegistryClient
import RegistrySimulator
import SQLiteStore
import ServiceLifecycle

/// A server whose relay talks real HTTP over loopback to a registry simulator in the same process,
/// with waits shortened for tests. Requests go through the router (in process), transfers through
/// sockets.
struct RelayHarness {
    let server: TestServer
    let simulator: SimulatorState
    let registryURL: String
    let client: Client
    let consent: ConsentCache

    /// Runs `body` with a fresh server, a simulator and a running relay; `configure` adjusts the
    /// relay's configuration (the defaults: 20 ms first back-off, 200 ms at most, no dead letters).
    /// With `validation`, the simulator refuses (400) a body that does not conform to its ePA input profile.
    static func run<T: Sendable>(
        format: WireFormat = .json, relay runsRelay: Bool = true, objectionResponse: ObjectionResponse = .locked,
        validation: PayloadValidation? = nil,
        configure: @escaping @Sendable (inout RegistryConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (RelayHarness) async throws -> T
    ) async throws -> T {
        let state = SimulatorState()
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        var quiet = Logger(label: "registry-sim")
        // Cancelling the simulator at the end logs errors that say nothing about the test.
        quiet.logLevel = .critical
        let simulator = RegistrySimulator.application(state: state, validation: validation, host: "127.0.0.1", port: 0, logger: quiet) { channel in
            portContinuation.yield(channel.localAddress?.port ?? 0)
        }
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: RegistryHTTPClient.httpConfiguration)
        var server = try await TestServer()
        if AnswerValidator.packagesAvailable {
            // `$activate` validates the KBV bundles the registry tests post, as in production.
            await AnswerValidator.loaded()
            server.env.prescriptionValidation = PrescriptionValidation(validator: AnswerValidator.validator, windows: ProfileVersionWindows(windows: []))
        }
        let cleanup = server
        do {
            let result = try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    // Ends the wait for the port below if the simulator cannot start.
                    defer { portContinuation.finish() }
                    try await simulator.runService()
                    return nil
                }
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next() else { throw HarnessError.simulatorDidNotStart }
                var configuration = RegistryConfiguration(baseURL: "http://127.0.0.1:\(port)")
                configuration.backoffBase = .milliseconds(20)
                configuration.backoffCap = .milliseconds(200)
                configuration.maximumAttempts = 10_000
                configuration.pollInterval = .milliseconds(10)
                configuration.requestTimeout = .seconds(5)
                configure(&configuration)
                let baseURL = configuration.baseURL
                let registry = RegistryHTTPClient(configuration: configuration, http: http)
                let consent = ConsentCache(client: registry, store: server.store)
                let receipts = server.receipts
                server.env.service = DispensingService(store: server.store, objectionRegistry: consent, objectionResponse: objectionResponse,
                                                       receiptIssuer: { try receipts.receipt(for: $0) })
                let metrics = PrometheusCollectorRegistry()
                server.env.metrics = RequestMetrics(registry: metrics)
                let health = registry.health
                server.env.registryReachable = { health.isReachable }
                if runsRelay {
                    let relay = OutboxRelay(outbox: server.store, client: registry, consent: consent,
                                            metrics: RelayMetrics(factory: PrometheusMetricsFactory(registry: metrics)), logger: quiet)
                    group.addTask { try await relay.run(); return nil }
                }
                let app = Application(router: server.router)
                let prepared = server
                let result = try await app.test(.router) { testClient in
                    try await body(RelayHarness(server: prepared, simulator: state, registryURL: baseURL,
                                                client: Client(client: testClient, format: format, server: prepared), consent: consent))
                }
                group.cancelAll()
                return result
            }
            try await http.shutdown()
            await cleanup.remove()
            return result
        } catch {
            try? await http.shutdown()
            await cleanup.remove()
            throw error
        }
    }

    enum HarnessError: Error { case simulatorDidNotStart, timedOut(String) }

    // MARK: - Driving the workflow

    struct InProgress: Sendable {
        var id: String
        var secret: String
        var kvnr: String
    }

    /// A task of `kvnr` created, activated (with `prescription`'s bundle, see ``TaskFactory``) and
    /// accepted through the API.
    func inProgressTask(kvnr: String, prescription: ((_ id: String, _ kvnr: String) throws -> Element)? = nil) async throws -> InProgress {
        let prepared = try await TaskFactory(client: client).prepare(.inProgress, kvnr: kvnr, prescription: prescription)
        return InProgress(id: prepared.id, secret: prepared.secret, kvnr: kvnr)
    }

    /// `pharmacyName`: the `organizationName` of the pharmacy's token.
    /// `handedOver` `nil`: a day that differs from the last call's, so each call is a changed set
    /// the registry learns of (A_25933).
    func dispense(_ task: InProgress, count: Int = 1, pharmacyName: String? = nil, handedOver: String? = nil) async throws -> Reply {
        let pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID, organizationName: pharmacyName)
        return try await client.send(.post, "/Task/\(task.id)/$dispense?secret=\(task.secret)", token: pharmacy,
                                     body: Bodies.dispense(id: task.id, count: count, kvnr: task.kvnr, handedOver: handedOver ?? Bodies.nextHandover()))
    }

    func close(_ task: InProgress, pharmacyName: String? = nil) async throws -> Reply {
        let pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID, organizationName: pharmacyName)
        return try await client.send(.post, "/Task/\(task.id)/$close?secret=\(task.secret)", token: pharmacy)
    }

    /// Waits until the outbox has nothing pending (everything settled one way or another).
    func drained(within seconds: Double = 20) async throws {
        let store = server.store
        try await waitUntil(seconds) { try await store.outboxStatistics().pending == 0 }
    }

    func received() async -> [ReceivedTransfer] {
        await simulator.received()
    }

    /// How many of the insurant's dispensations the registry applied so far.
    func dispensationsReceived(_ kvnr: String) async -> Int {
        await received().filter { $0.kvnr == kvnr && $0.operation == "provide-dispensation-erp" }.count
    }
}

/// KVNRs for tests: a letter and nine digits, one per `number`.
func testKVNR(_ number: Int) -> String {
    let digits = String(number)
    let stem = "T" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    // With its check digit: `$activate` checks it in KBV bundles (A_23890-01).
    return (0...9).map { stem + String($0) }.first(where: CheckDigits.isValidKVNR) ?? stem + "0"
}
