public import AsyncHTTPClient
public import Dispensing
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
public import ServiceLifecycle

/// Delivers the webhook outbox (issue 23, item 3; ARCHITECTURE decision 13) as a lifecycle service
/// beside the HTTP server and the registry relay, with the registry relay's machinery: expiring
/// claims (`RelayClaim`, here on subscriptions) so several instances never send one delivery at
/// once, per-subscription order, back-off with jitter (`RelayBackoff`), dead letters after
/// `maximumAttempts`, and a stable idempotency key per delivery.
///
/// Exactly once per key: a delivery is settled `delivered` only after a 2xx; one answered but not
/// settled (a crash, a lost answer) goes again with the same `Idempotency-Key`, which the receiver
/// must use to drop the repeat. Up to `concurrency` subscriptions are served at once, each by a
/// worker that sends its deliveries one after another and stops at the first failure, so a later
/// delivery never overtakes an earlier one; a slow receiver holds up only its own subscription.
public struct WebhookRelay: Service {
    let store: any WebhookStore
    let http: HTTPClient
    let configuration: WebhookConfiguration
    let metrics: WebhookMetrics?
    let clock: any WallClock
    let logger: Logger
    let holder: String

    public init(store: any WebhookStore, http: HTTPClient, configuration: WebhookConfiguration = WebhookConfiguration(),
                metrics: WebhookMetrics?, clock: any WallClock = SystemWallClock(), logger: Logger, holder: String? = nil) {
        self.store = store
        self.http = http
        self.configuration = configuration
        self.metrics = metrics
        self.clock = clock
        self.logger = logger
        self.holder = holder ?? OutboxRelay.processHolder + "/webhooks"
    }

    /// Webhook receivers are other systems, chosen by pharmacies: a redirect is not followed (it
    /// could point the server at anything), and one connection per served subscription is enough.
    public static var httpConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)
        return configuration
    }

    private enum Event: Sendable {
        case tick
        /// A worker is done with this subscription (settled and released, or left to its claim's expiry).
        case served(String)
    }

    public func run() async throws {
        // Stops by cancelling the workers' requests: what was not settled stays pending and goes out,
        // under the same keys, after the restart (or from another instance).
        await cancelWhenGracefulShutdown { await drain() }
    }

    private func drain() async {
        let claim = RelayClaim(holder: holder, duration: configuration.lease.seconds)
        let limit = max(1, configuration.concurrency)
        await withTaskGroup(of: Event.self) { group in
            var busy: Set<String> = []
            var quietUntil = ContinuousClock.now
            group.addTask { .tick }
            while let event = await group.next() {
                switch event {
                case .served(let id):
                    busy.remove(id)
                    // A subscription with more queued is read again at once, not a poll later.
                    guard !Task.isCancelled, ContinuousClock.now >= quietUntil else { continue }
                case .tick:
                    guard !Task.isCancelled else { continue }
                    group.addTask {
                        try? await Task.sleep(for: configuration.pollInterval)
                        return .tick
                    }
                    if let metrics, let statistics = try? await store.webhookStatistics() { metrics.observe(statistics, now: clock.now()) }
                    guard ContinuousClock.now >= quietUntil else { continue }
                }
                guard busy.count < limit else { continue }
                let due: [WebhookDelivery]
                do {
                    due = try await store.dueDeliveries(now: clock.now(), subscriptions: limit - busy.count,
                                                        perSubscription: max(1, configuration.perSubscription), excluding: busy, claim: claim)
                } catch {
                    // A store that fails is asked again after ten polls, not on every one (one log line each).
                    logger.error("webhooks: reading the deliveries failed", metadata: ["error": "\(String(describing: type(of: error)))"])
                    quietUntil = ContinuousClock.now + configuration.pollInterval * 10
                    continue
                }
                let claimed = ContinuousClock.now
                for deliveries in Dictionary(grouping: due, by: \.subscriptionID).values {
                    let id = deliveries[0].subscriptionID
                    busy.insert(id)
                    let ordered = deliveries.sorted { $0.id < $1.id }
                    group.addTask { await serve(ordered, claimed: claimed, claim: claim); return .served(id) }
                }
            }
        }
    }

    /// Sends one subscription's deliveries in order and settles what was answered. A settlement that
    /// cannot be stored leaves the claim to run out: the deliveries then go again, same keys.
    ///
    /// Another delivery is started only while it would be answered (or time out) within half the
    /// lease from the claim: the claim cannot run out under a send, so no other instance can take the
    /// subscription and send beside it. What is left stays pending for the next read.
    private func serve(_ deliveries: [WebhookDelivery], claimed: ContinuousClock.Instant, claim: RelayClaim) async {
        var settlements: [WebhookSettlement] = []
        for delivery in deliveries {
            // The first always goes (a lease configured shorter than that would otherwise stall the queue).
            guard settlements.isEmpty || ContinuousClock.now + configuration.requestTimeout < claimed + configuration.lease / 2 else { break }
            guard let settlement = await send(delivery) else { break }
            settlements.append(settlement)
            if case .retry = settlement { break }
        }
        do {
            try await store.settleDeliveries(settlements, at: clock.now())
            metrics?.count(settlements)
            try? await store.releaseDeliveryClaims([deliveries[0].subscriptionID], holder: claim.holder)
        } catch {
            logger.error("webhooks: settling failed", metadata: ["error": "\(String(describing: type(of: error)))"])
        }
    }

    /// One attempt; `nil` when cancelled (shutdown), which is no failed attempt.
    private func send(_ delivery: WebhookDelivery) async -> WebhookSettlement? {
        var request = HTTPClientRequest(url: delivery.endpoint)
        request.method = .POST
        let timestamp = Int64(clock.now().timeIntervalSince1970)
        request.headers.add(name: "Idempotency-Key", value: delivery.idempotencyKey)
        request.headers.add(name: "X-Erx-Event", value: delivery.eventKind)
        request.headers.add(name: "X-Erx-Subscription", value: delivery.subscriptionID)
        request.headers.add(name: WebhookSignature.timestampHeader, value: String(timestamp))
        request.headers.add(name: WebhookSignature.signatureHeader,
                            value: WebhookSignature.sign(body: delivery.body, timestamp: timestamp, secret: delivery.secret))
        if !delivery.body.isEmpty { request.headers.add(name: "Content-Type", value: WebhookPayload.fhirJSON) }
        request.body = .bytes(ByteBuffer(bytes: delivery.body))
        let reason: String
        do {
            let response = try await http.execute(request, timeout: .nanoseconds(Int64(configuration.requestTimeout.seconds * 1e9)))
            // The answer's body is not needed, but read (a little of it) so the connection can be reused.
            _ = try? await response.body.collect(upTo: 64 * 1024)
            if (200..<300).contains(response.status.code) { return .delivered(delivery.id) }
            reason = "receiver answered \(response.status.code)"
        } catch {
            if TransferDispatch.isCancellation(error) { return nil }
            reason = TransferDispatch.describe(error)
        }
        let attempts = delivery.attempts + 1
        guard attempts < configuration.maximumAttempts else {
            return .deadLetter(delivery.id, reason: "\(reason) (gave up after \(attempts) attempts)")
        }
        let wait = configuration.backoff.delay(afterAttempts: attempts, unit: Double.random(in: 0...1))
        return .retry(delivery.id, at: clock.now().addingTimeInterval(wait.seconds), reason: reason)
    }
}
