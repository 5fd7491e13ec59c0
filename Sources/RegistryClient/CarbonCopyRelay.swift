public import AsyncHTTPClient
public import Dispensing
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
public import ServiceLifecycle

/// How the BfArM relay sends the T-Rezept copies (A_27824, A_27828, A_27830). IBM's production
/// configuration gives up after 20 retries (`numRetries`) and backs off from 60 s doubling at most 8
/// times (`maxExponentialBackoff`); IBM waits 60 s per event and backs off its whole processor,
/// erx backs off each copy (`TRezeptEventProcessor`). Tests shorten the waits.
public struct CarbonCopyConfiguration: Sendable {
    /// The BfArM web service's endpoint for the copies, the whole URL (IBM posts to
    /// `https://<BfArM host>/ords/rezepte/t-rezept/v1`).
    public var endpoint: String
    public var requestTimeout: Duration = .seconds(10)
    public var backoff = RelayBackoff(base: .seconds(60), factor: 2, cap: .seconds(60 * 256))
    /// A copy that failed this many times goes to the dead letters (the first try and 20 retries).
    public var maximumAttempts: Int = 21
    /// How often an idle relay looks for new copies.
    public var pollInterval: Duration = .milliseconds(500)
    /// How long the copies a relay took stay claimed against other instances; a copy is started only
    /// while it would be answered within half of it.
    public var lease: Duration = .seconds(30)
    /// The most copies taken (and sent one after another) per read.
    public var batch: Int = 8

    public init(endpoint: String) {
        self.endpoint = endpoint
    }
}

/// Sends the carbon-copy outbox to the BfArM as a lifecycle service beside the registry and
/// webhook relays, with their machinery (ARCHITECTURE decision 13): expiring claims (here on each
/// copy), back-off with jitter (`RelayBackoff`), dead letters, and an idempotency key per copy.
///
/// Exactly once per key: a copy is settled `sent` only after a 2xx (IBM's BfArM mock answers 201,
/// and 208 for a copy it already has); a copy answered but not settled (a crash, a lost answer)
/// goes again, from this or another instance, with the same `Idempotency-Key`, which the receiver
/// uses to drop the repeat. Unlike the registry relay, nothing here looks at the insurant's
/// objections or pauses: the copy is owed to the BfArM whatever the insurant decided about the ePA.
///
/// Ours: IBM authenticates with an OAuth client-credentials token (A_27821, A_27822) and sends no
/// idempotency key; erx sends the key and no token (the simulator needs none).
public struct CarbonCopyRelay: Service {
    let store: any CarbonCopyStore
    let http: HTTPClient
    let configuration: CarbonCopyConfiguration
    let clock: any WallClock
    let logger: Logger
    let holder: String

    public init(store: any CarbonCopyStore, http: HTTPClient, configuration: CarbonCopyConfiguration, clock: any WallClock = SystemWallClock(),
                logger: Logger, holder: String? = nil) {
        self.store = store
        self.http = http
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.holder = holder ?? OutboxRelay.processHolder + "/bfarm"
    }

    public func run() async throws {
        // Stops by cancelling the request under way: what was not settled goes again, same key.
        await cancelWhenGracefulShutdown { await drain() }
    }

    private func drain() async {
        let claim = RelayClaim(holder: holder, duration: configuration.lease.seconds)
        while !Task.isCancelled {
            let due: [CarbonCopyEntry]
            do {
                due = try await store.dueCarbonCopies(now: clock.now(), limit: max(1, configuration.batch), claim: claim)
            } catch {
                logger.error("bfarm: reading the carbon copies failed", metadata: ["error": "\(String(describing: type(of: error)))"])
                try? await Task.sleep(for: configuration.pollInterval * 10)
                continue
            }
            if due.isEmpty {
                try? await Task.sleep(for: configuration.pollInterval)
                continue
            }
            await serve(due, claimed: ContinuousClock.now)
        }
    }

    /// Sends the claimed copies one after another, settling each at once; what is left when half
    /// the lease is used up stays pending (its claim runs out) for the next read.
    private func serve(_ copies: [CarbonCopyEntry], claimed: ContinuousClock.Instant) async {
        for (index, copy) in copies.enumerated() {
            guard index == 0 || ContinuousClock.now + configuration.requestTimeout < claimed + configuration.lease / 2 else { return }
            guard let settlement = await send(copy) else { return }
            do {
                try await store.settleCarbonCopies([settlement], at: clock.now())
            } catch {
                logger.error("bfarm: settling failed", metadata: ["error": "\(String(describing: type(of: error)))"])
                return
            }
            switch settlement {
            case .sent: break
            case .retry(_, _, let reason):
                logger.warning("bfarm: carbon copy not delivered", metadata: ["prescription_id": "\(copy.prescriptionID.rawValue)", "reason": "\(reason)"])
            case .deadLetter(_, let reason):
                // A_27831: structural refusals are logged with their details.
                logger.error("bfarm: carbon copy given up", metadata: ["prescription_id": "\(copy.prescriptionID.rawValue)", "reason": "\(reason)"])
            }
        }
    }

    /// One attempt; `nil` when cancelled (shutdown), which is no failed attempt.
    private func send(_ copy: CarbonCopyEntry) async -> CarbonCopySettlement? {
        var request = HTTPClientRequest(url: configuration.endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/fhir+json")
        request.headers.add(name: "Idempotency-Key", value: copy.idempotencyKey)
        request.headers.add(name: "X-Request-Id", value: RandomIDGenerator.randomUUID())
        request.body = .bytes(ByteBuffer(bytes: copy.body))
        let reason: String
        do {
            let response = try await http.execute(request, timeout: .nanoseconds(Int64(configuration.requestTimeout.seconds * 1e9)))
            let answer = (try? await response.body.collect(upTo: 16 * 1024)).map { String(buffer: $0) } ?? ""
            switch Self.outcome(of: Int(response.status.code)) {
            case .sent: return .sent(copy.id)
            case .refused: return .deadLetter(copy.id, reason: "BfArM answered \(response.status.code): \(answer.prefix(500))")
            case .retry: reason = "BfArM answered \(response.status.code)"
            }
        } catch {
            if TransferDispatch.isCancellation(error) { return nil }
            reason = TransferDispatch.describe(error)
        }
        let attempts = copy.attempts + 1
        guard attempts < configuration.maximumAttempts else {
            return .deadLetter(copy.id, reason: "\(reason) (gave up after \(attempts) attempts)")
        }
        let wait = configuration.backoff.delay(afterAttempts: attempts, unit: Double.random(in: 0...1))
        return .retry(copy.id, at: clock.now().addingTimeInterval(wait.seconds), reason: reason)
    }

    public enum Outcome: Sendable, Equatable { case sent, retry, refused }

    /// IBM `TRezeptEventProcessor` (A_27830): 2xx done; 401 and 429 and 5xx again; 400, 422 and
    /// every other 4xx to the dead letters.
    public static func outcome(of status: Int) -> Outcome {
        switch status {
        case 200..<300: .sent
        case 401, 429: .retry
        case 400..<500: .refused
        default: .retry
        }
    }
}
