import ArgumentParser
import AsyncHTTPClient
import Dispensing
import ErxProfiles
import FHIRServer
import FHIRValidation
import Foundation
import Hummingbird
import Logging
import Prometheus
import RegistryClient
import SQLiteStore
import ServiceLifecycle
import UnixSignals

/// `erx serve`: the dispensing server on SQLite. With no flags it keeps its data in `./erx-data/`,
/// accepts development tokens (`erx token`) and listens on http://127.0.0.1:8080.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the FHIR dispensing server.")

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0: any free port).")
    var port = 8080

    @Option(help: "The data directory: the SQLite database and the server's keys.")
    var data = "erx-data"

    @Option(help: "Token verification: 'dev' (a development key made in the data directory) or 'jwks:FILE'.")
    var auth = "dev"

    @Flag(help: "Accept an unsigned KBV bundle at $activate (development and conformance runs only).")
    var acceptUnsigned = false

    @Option(help: "PEM file of the certificates a signed prescription must chain to; without it, $activate extracts the bundle without verifying.")
    var trustAnchors: String?

    @Option(name: .customLong("profiles"), help: "A directory of official FHIR packages; repeatable. Its definitions take precedence over ours.")
    var profileDirectories: [String] = []

    @Option(help: "The public base URL for links (default: http://HOST:PORT).")
    var baseURL: String?

    @OptionGroup var registry: RegistryOptions

    @OptionGroup var hardening: HardeningOptions

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "erx")
        logger.logLevel = .info
        let directory = URL(fileURLWithPath: data, isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

        let verifier = try await Self.verifier(auth, directory: directory, policy: hardening.tokenPolicy)
        let store = try SQLiteTaskStore(path: directory.appendingPathComponent("erx.sqlite").path)
        let receipts = try ReceiptIssuer.loadOrCreate(in: directory)
        let repository = try ErxProfiles.repository(adding: profileDirectories.map { URL(fileURLWithPath: $0) })
        let parameters = DispensationParameters(
            validator: ProfileValidator(profiles: CompiledProfiles(repository: repository)), windows: try ErxProfiles.workflowVersions()
        )
        let metricsRegistry = PrometheusCollectorRegistry()
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: RegistryHTTPClient.httpConfiguration)
        let client = registry.client(http: http)
        let consent = client.map { ConsentCache(client: $0, store: store) }
        let relay = OutboxRelay(outbox: store, client: client, consent: consent,
                                metrics: RelayMetrics(factory: PrometheusMetricsFactory(registry: metricsRegistry)), logger: logger)
        let service = DispensingService(store: store, objectionRegistry: consent.map { $0 as any ObjectionRegistry } ?? StoredObjectionsOnly(),
                                        receiptIssuer: { try receipts.receipt(for: $0) })
        var reachable: (@Sendable () -> Bool)?
        if let health = client?.health { reachable = { health.isReachable } }
        let env = ServerEnvironment(
            service: service, dispensationParameters: parameters, baseURL: baseURL ?? "http://\(host):\(port)",
            acceptUnsigned: acceptUnsigned,
            signedPrescriptions: SignedPrescription(trustAnchors: try trustAnchors.map { try SignedPrescription.anchors(pemFile: URL(fileURLWithPath: $0)) }),
            databaseReady: {
                // A read that touches the database: it answers (with no task) or throws.
                do { _ = try await store.task(PrescriptionID(flowType: .gkvPharmacy, serial: 0)); return true } catch { return false }
            },
            registryReachable: reachable,
            metrics: RequestMetrics(registry: metricsRegistry),
            limits: hardening.requestLimits
        )
        let app = ErxServer.application(env, verifier: verifier, host: host, port: port, logger: logger,
                                        connections: hardening.connectionLimits()) { channel in
            let port = channel.localAddress?.port ?? port
            // Written unbuffered: scripts wait for this line.
            let line = "erx listening on http://\(host):\(port) (data: \(directory.path), auth: \(auth.hasPrefix("jwks:") ? "jwks" : "dev"))\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        let group = ServiceGroup(configuration: .init(services: [app, relay], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            await consent?.shutdown()
            try? await http.shutdown()
            throw error
        }
        // The services have stopped; a consent lookup may still wait for the registry.
        await consent?.shutdown()
        try await http.shutdown()
    }

    static func verifier(_ auth: String, directory: URL, policy: TokenPolicy) async throws -> AccessTokenVerifier {
        if auth == "dev" {
            return await AccessTokenVerifier.development(try DevelopmentSigningKey.loadOrCreate(in: directory), policy: policy)
        }
        if auth.hasPrefix("jwks:") {
            return try await AccessTokenVerifier.jwks(file: URL(fileURLWithPath: String(auth.dropFirst(5))), policy: policy)
        }
        throw ValidationError("--auth must be 'dev' or 'jwks:FILE'")
    }
}

/// `erx token`: prints a development access token that `erx serve --auth dev` with the same data
/// directory accepts.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Print a development access token.")

    @Option(help: "The server's data directory (holds the development key).")
    var data = "erx-data"

    @Option(help: "The professionOID claim, e.g. 1.2.276.0.76.4.54 (public pharmacy).")
    var professionOid: String

    @Option(help: "The idNummer of an institution.")
    var telematikId: String?

    @Option(help: "The idNummer of an insurant.")
    var kvnr: String?

    @Option(help: "The organizationName claim of an institution (its name in the ePA Organization of its transfers).")
    var organizationName: String?

    @Option(help: "Lifetime in seconds.")
    var lifetime = 43_200

    func validate() throws {
        guard (telematikId == nil) != (kvnr == nil) else { throw ValidationError("give exactly one of --telematik-id and --kvnr") }
        if let kvnr, KVNR(kvnr) == nil { throw ValidationError("--kvnr must be a letter and nine digits") }
        if let telematikId, TelematikID(telematikId) == nil { throw ValidationError("--telematik-id is not a Telematik-ID") }
    }

    func run() async throws {
        let key = try DevelopmentSigningKey.loadOrCreate(in: URL(fileURLWithPath: data, isDirectory: true))
        print(try await key.token(profession: professionOid, idNummer: telematikId ?? kvnr, organizationName: organizationName,
                                  lifetime: TimeInterval(lifetime)))
    }
}
