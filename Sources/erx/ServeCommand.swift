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
import ServiceLifecycle
import UnixSignals

/// `erx serve`: the dispensing server, on SQLite or (`--database`) PostgreSQL. With no flags it
/// keeps its data in `./erx-data/`, accepts development tokens (`erx token`) and listens on
/// http://127.0.0.1:8080. Several instances may share one PostgreSQL database and one data
/// directory (the keys).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the FHIR dispensing server.")

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0: any free port).")
    var port = 8080

    @Option(help: "The data directory: the server's keys, and the SQLite database unless --database is given.")
    var data = "erx-data"

    @Option(help: "Token verification: 'dev' (development ES256 and BP256R1 keys made in the data directory), 'jwks:FILE' (ES256), or 'idp:FILE' (BP256R1 tokens of the IDP whose signing key or certificate FILE holds, PEM).")
    var auth = "dev"

    @Flag(help: "Accept an unsigned KBV bundle at $activate (development and conformance runs only).")
    var acceptUnsigned = false

    @Option(help: "PEM file of the certificates a signed prescription must chain to (e.g. DIR/dev-ca.pem of 'erx dev-pki'); without it, $activate extracts the bundle without verifying.")
    var trustAnchors: String?

    @Option(help: "PEM file of the P-256 key that signs receipts (with --receipt-certificate); default: a development key in the data directory.")
    var receiptKey: String?

    @Option(help: "PEM file of the certificate of --receipt-key; default: a self-signed development certificate in the data directory.")
    var receiptCertificate: String?

    @Option(name: .customLong("profiles"), help: "A directory of official FHIR packages; repeatable. Its definitions take precedence over ours.")
    var profileDirectories: [String] = []

    @Option(help: "A JSON file of the KBV prescription versions in force by authoredOn ({\"windows\":[{\"version\":\"1.3\",\"from\":\"2025-10-01\",\"until\":null}]}); replaces the built-in windows.")
    var kbvVersions: String?

    @Option(help: "What $activate does with a LANR/ZANR of a wrong check digit: 'warning' (status 252 and a Warning header, as the production service) or 'error' (400).")
    var anrChecksumValidation = PractitionerNumberPolicy.warning.rawValue

    @Option(help: "Working days a discharge prescription (legal basis 04/14) may be accepted in, the signing day included (A_19517-04; Sundays and nationwide holidays do not count).")
    var dischargeValidityWorkdays = RedemptionDates.defaultDischargeValidityWorkdays

    @Option(help: "What $dispense answers for an insured person who objected: 'locked' (423, nothing stored; ours) or 'fd' (204, stored, no registry transfer; as the production service).")
    var objectionResponse = ObjectionResponse.locked.rawValue

    @Option(help: "The business rules of $dispense and $close: 'fd' (exactly the production service's checks) or 'strict' (ours: also refuses with 422 an expired batch, a substitution the prescriber excluded, more than prescribed).")
    var rules = DispensingPolicy.fd.rawValue

    @Option(help: "The public base URL for links (default: http://HOST:PORT).")
    var baseURL: String?

    @Option(help: "The first German day a Communication payload of version 3 is accepted (YYYY-MM-DD; the FD's payloadV3ValidFrom).")
    var communicationPayloadV3From = CommunicationPayload().v3ValidFrom
    @OptionGroup var egk: EGKOptions

    @OptionGroup var storeOptions: StoreOptions

    @OptionGroup var registry: RegistryOptions

    @OptionGroup var hardening: HardeningOptions

    @OptionGroup var webhooks: WebhookOptions
    @OptionGroup var bfarm: BfArMOptions
    @OptionGroup var subscriptions: SubscriptionOptions
    @OptionGroup var vau: VAUOptions

    func validate() throws {
        guard (receiptKey == nil) == (receiptCertificate == nil) else {
            throw ValidationError("give both --receipt-key and --receipt-certificate, or neither")
        }
        guard ObjectionResponse(rawValue: objectionResponse) != nil else {
            throw ValidationError("--objection-response must be one of \(ObjectionResponse.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard DispensingPolicy(rawValue: rules) != nil else {
            throw ValidationError("--rules must be one of \(DispensingPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard PractitionerNumberPolicy(rawValue: anrChecksumValidation) != nil else {
            throw ValidationError("--anr-checksum-validation must be one of \(PractitionerNumberPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (1...60).contains(dischargeValidityWorkdays) else {
            throw ValidationError("--discharge-validity-workdays must be between 1 and 60")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "erx")
        logger.logLevel = .info
        let directory = URL(fileURLWithPath: data, isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

        let verifier = try await Self.verifier(auth, directory: directory, policy: hardening.tokenPolicy)
            .limitingRate(hardening.tokenRateLimitPolicy)
        if auth.hasPrefix("idp:") && hardening.tokenAudience == nil {
            logger.warning("--auth idp without --token-audience: tokens for any audience are accepted (the FD checks aud, A_20370)")
        }
        let opened = try await storeOptions.open(data: directory, logger: logger)
        let store = opened.store
        var issuer = try receiptKey.map { try ReceiptIssuer.load(key: URL(fileURLWithPath: $0), certificate: URL(fileURLWithPath: receiptCertificate ?? "")) }
            ?? ReceiptIssuer.loadOrCreate(in: directory)
        issuer.baseURL = baseURL ?? "http://\(host):\(port)"
        let receipts = issuer
        let repository = try ErxProfiles.repository(adding: profileDirectories.map { URL(fileURLWithPath: $0) })
        let validator = ProfileValidator(profiles: CompiledProfiles(repository: repository))
        let parameters = DispensationParameters(validator: validator, windows: try ErxProfiles.workflowVersions())
        let prescriptionValidation = PrescriptionValidation(
            validator: validator, windows: try ErxProfiles.kbvVersions(file: kbvVersions.map { URL(fileURLWithPath: $0) })
        )
        if trustAnchors == nil && !acceptUnsigned {
            // Signed prescriptions are then taken as signed without any check of who signed them.
            logger.warning("no --trust-anchors: $activate extracts signed prescriptions without verifying their signature")
        }
        let metricsRegistry = PrometheusCollectorRegistry()
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: RegistryHTTPClient.httpConfiguration)
        let client = registry.client(http: http)
        let consent = client.map { ConsentCache(client: $0, store: store) }
        let relay = OutboxRelay(outbox: store, client: client, consent: consent,
                                metrics: RelayMetrics(factory: PrometheusMetricsFactory(registry: metricsRegistry)), logger: logger)
        let webhookHTTP = HTTPClient(eventLoopGroupProvider: .singleton, configuration: WebhookRelay.httpConfiguration)
        let webhookRelay = WebhookRelay(store: store, http: webhookHTTP, configuration: webhooks.configuration,
                                        metrics: WebhookMetrics(factory: PrometheusMetricsFactory(registry: metricsRegistry)), logger: logger)
        let service = DispensingService(store: store, objectionRegistry: consent.map { $0 as any ObjectionRegistry } ?? StoredObjectionsOnly(),
                                        objectionResponse: ObjectionResponse(rawValue: objectionResponse) ?? .locked,
                                        rules: DispensingPolicy(rawValue: rules) ?? .fd,
                                        receiptIssuer: { try receipts.receipt(for: $0) })
        var reachable: (@Sendable () -> Bool)?
        if let health = client?.health { reachable = { health.isReachable } }
        guard CalendarDate.datePart(of: communicationPayloadV3From) == communicationPayloadV3From else {
            throw ValidationError("--communication-payload-v3-from takes a day, YYYY-MM-DD")
        }
        var env = ServerEnvironment(
            service: service, dispensationParameters: parameters, baseURL: baseURL ?? "http://\(host):\(port)",
            acceptUnsigned: acceptUnsigned,
            signedPrescriptions: SignedPrescription(
                trustAnchors: try trustAnchors.map { try SignedPrescription.anchors(pemFile: URL(fileURLWithPath: $0)) },
                developmentSigner: acceptUnsigned ? try DevelopmentSigner.loadOrCreate(in: directory) : nil
            ),
            databaseReady: opened.ready,
            registryReachable: reachable,
            metrics: RequestMetrics(registry: metricsRegistry),
            limits: hardening.requestLimits,
            documentSigner: receipts,
            prescriptionValidation: prescriptionValidation,
            practitionerNumbers: PractitionerNumberPolicy(rawValue: anrChecksumValidation) ?? .warning
        )
        env.communicationPayload.v3ValidFrom = communicationPayloadV3From
        env.dischargeValidityWorkdays = dischargeValidityWorkdays
        env.egk = try await egk.redemption()
        env.subscriptions = try subscriptions.settings(directory: directory)
        env.vau = try vau.settings(directory: directory)
        let app = ErxServer.application(env, verifier: verifier, host: host, port: port, logger: logger,
                                        connections: hardening.connectionLimits()) { channel in
            let port = channel.localAddress?.port ?? port
            // Written unbuffered: scripts wait for this line.
            let line = "erx listening on http://\(host):\(port) (data: \(directory.path), store: \(opened.label), auth: \(auth.split(separator: ":").first.map(String.init) ?? auth), transport: \(vau.transport))\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        var services: [any Service] = [app, relay, webhookRelay]
        if let configuration = bfarm.configuration {
            services.append(CarbonCopyRelay(store: store, http: webhookHTTP, configuration: configuration, logger: logger))
        } else {
            logger.warning("no --bfarm-url: the BfArM carbon copies of closed T-Rezepte (flow 166) wait in their outbox")
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            await consent?.shutdown()
            try? await http.shutdown()
            try? await webhookHTTP.shutdown()
            await opened.close()
            throw error
        }
        // The services have stopped; a consent lookup may still wait for the registry.
        await consent?.shutdown()
        try await http.shutdown()
        try await webhookHTTP.shutdown()
        await opened.close()
    }

    static func verifier(_ auth: String, directory: URL, policy: TokenPolicy) async throws -> AccessTokenVerifier {
        if auth == "dev" {
            return await AccessTokenVerifier.development(try DevelopmentSigningKey.loadOrCreate(in: directory),
                                                         idp: try DevelopmentIDPKey.loadOrCreate(in: directory), policy: policy)
        }
        if auth.hasPrefix("jwks:") {
            return try await AccessTokenVerifier.jwks(file: URL(fileURLWithPath: String(auth.dropFirst(5))), policy: policy)
        }
        if auth.hasPrefix("idp:") {
            return AccessTokenVerifier.idp(key: try AccessTokenVerifier.idpKey(pemFile: URL(fileURLWithPath: String(auth.dropFirst(4)))), policy: policy)
        }
        throw ValidationError("--auth must be 'dev', 'jwks:FILE' or 'idp:FILE'")
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

    @Option(help: "The holder's name, as AuditEvents show it (organizationName of an institution, display_name of an insurant).")
    var name: String?

    @Option(help: "Lifetime in seconds.")
    var lifetime = 43_200

    @Option(help: "The signature: 'ES256' (the development key) or 'BP256R1' (the development IDP's brainpool key, as the TI's IDP signs).")
    var alg = "ES256"

    @Option(help: "The aud claim (BP256R1 tokens), as the server's --token-audience expects it.")
    var audience: String?

    func validate() throws {
        guard (telematikId == nil) != (kvnr == nil) else { throw ValidationError("give exactly one of --telematik-id and --kvnr") }
        if let kvnr, KVNR(kvnr) == nil { throw ValidationError("--kvnr must be a letter and nine digits") }
        if let telematikId, TelematikID(telematikId) == nil { throw ValidationError("--telematik-id is not a Telematik-ID") }
        guard ["ES256", "BP256R1"].contains(alg) else { throw ValidationError("--alg must be ES256 or BP256R1") }
        guard audience == nil || alg == "BP256R1" else { throw ValidationError("--audience goes with --alg BP256R1") }
    }

    func run() async throws {
        let directory = URL(fileURLWithPath: data, isDirectory: true)
        if alg == "BP256R1" {
            let key = try DevelopmentIDPKey.loadOrCreate(in: directory)
            print(try key.token(profession: professionOid, idNummer: telematikId ?? kvnr, name: name, audience: audience, lifetime: TimeInterval(lifetime)))
            return
        }
        let key = try DevelopmentSigningKey.loadOrCreate(in: directory)
        print(try await key.token(profession: professionOid, idNummer: telematikId ?? kvnr, name: name, lifetime: TimeInterval(lifetime)))
    }
}
