import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// What the webhook receiver remembers (issue 23, item 3): the subscriptions' secrets, its faults,
/// and each delivery it accepted, once per `Idempotency-Key`. One actor, so that the key check and
/// the recording are one step.
public actor WebhookReceiverState {
    /// A delivery as accepted, for tests to compare with what the server should have sent.
    public struct Delivery: Codable, Sendable, Hashable {
        public var endpoint: String
        public var idempotencyKey: String
        public var subscription: String
        public var event: String
        public var body: String
        public var receivedAt: Double
    }

    /// Receiver failures to play, set through `POST /_sim/hook/faults` (`{}`: none).
    public struct HookFaults: Codable, Sendable, Hashable {
        /// The chance (0–1) that a delivery is answered 500 before it is looked at.
        public var errorRate: Double = 0
        /// The chance (0–1) that a delivery is recorded and then answered 500, as if the answer were
        /// lost: the sender must send it again, and the receiver drops the repeat by its key.
        public var lostAnswerRate: Double = 0

        public init(errorRate: Double = 0, lostAnswerRate: Double = 0) {
            self.errorRate = errorRate
            self.lostAnswerRate = lostAnswerRate
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            errorRate = try container.decodeIfPresent(Double.self, forKey: .errorRate) ?? 0
            lostAnswerRate = try container.decodeIfPresent(Double.self, forKey: .lostAnswerRate) ?? 0
        }
    }

    /// What `GET /_sim/hook/received` answers.
    public struct Report: Codable, Sendable, Hashable {
        public var deliveries: [Delivery]
        /// Deliveries that came again with a key already recorded (answered 200, not recorded again).
        public var replays: Int
        /// Deliveries refused for a missing or wrong signature, or an unknown subscription.
        public var badSignatures: Int
        /// Every delivery attempt that reached the receiver.
        public var attempts: Int
    }

    private var secrets: [String: String] = [:]
    private var faults = HookFaults()
    private var deliveries: [Delivery] = []
    private var keys: Set<String> = []
    private var replays = 0
    private var badSignatures = 0
    private var attempts = 0

    public init() {}

    public func setSecret(_ secret: String, for subscription: String) { secrets[subscription] = secret }
    public func setFaults(_ faults: HookFaults) { self.faults = faults }
    public func report() -> Report { Report(deliveries: deliveries, replays: replays, badSignatures: badSignatures, attempts: attempts) }

    public func reset() {
        deliveries = []
        keys = []
        replays = 0
        badSignatures = 0
        attempts = 0
    }

    /// The answer's status for one attempt, after verifying, faulting and deduplicating it.
    func receive(endpoint: String, key: String?, subscription: String?, event: String?, timestamp: String?, signature: String?,
                 body: [UInt8], now: Date) -> HTTPResponse.Status {
        attempts += 1
        if Double.random(in: 0..<1) < faults.errorRate { return .internalServerError }
        guard let key, !key.isEmpty, let subscription, let secret = secrets[subscription], let timestamp, let signature,
              Self.verify(signature, timestamp: timestamp, body: body, secret: secret)
        else {
            badSignatures += 1
            return .unauthorized
        }
        if keys.insert(key).inserted {
            deliveries.append(Delivery(endpoint: endpoint, idempotencyKey: key, subscription: subscription, event: event ?? "",
                                       body: String(decoding: body, as: UTF8.self), receivedAt: now.timeIntervalSince1970))
        } else {
            replays += 1
        }
        if Double.random(in: 0..<1) < faults.lostAnswerRate { return .internalServerError }
        return .ok
    }

    /// `sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`, checked independently of the
    /// sender's code so the documented format itself is what is tested.
    static func verify(_ signature: String, timestamp: String, body: [UInt8], secret: String) -> Bool {
        guard signature.hasPrefix("sha256=") else { return false }
        var message = Array("\(timestamp).".utf8)
        message.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        let expected = "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
        // Constant time over the whole length: a forger learns nothing from the timing.
        let (a, b) = (Array(expected.utf8), Array(signature.utf8))
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// The receiving endpoint `POST /hook/{name}` and its control API under `/_sim/hook`: register a
/// subscription's secret (`PUT /_sim/hook/secrets/{subscription}`, the secret as the body), set the
/// faults, read and clear what was received.
struct WebhookReceiverRoutes {
    let state: WebhookReceiverState

    func register(on router: Router<BasicRequestContext>) {
        router.post("/hook/{name}") { request, context in
            let body = try await RegistrySimulator.collectBody(of: request)
            func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { request.headers[$0] } }
            let status = await state.receive(
                endpoint: context.parameters.get("name") ?? "", key: header("Idempotency-Key"), subscription: header("X-Erx-Subscription"),
                event: header("X-Erx-Event"), timestamp: header("X-Erx-Timestamp"), signature: header("X-Erx-Signature"),
                body: Array(body.readableBytesView), now: Date()
            )
            return Response(status: status)
        }
        router.put("/_sim/hook/secrets/{subscription}") { request, context in
            let body = try await RegistrySimulator.collectBody(of: request)
            guard let subscription = context.parameters.get("subscription") else { throw SimulatorError.malformed("no subscription") }
            await state.setSecret(String(decoding: body.readableBytesView, as: UTF8.self), for: subscription)
            return Response(status: .noContent)
        }
        router.post("/_sim/hook/faults") { request, _ in
            let body = try await RegistrySimulator.collectBody(of: request)
            guard let faults = try? JSONDecoder().decode(WebhookReceiverState.HookFaults.self, from: Data(body.readableBytesView)),
                  (0...1).contains(faults.errorRate), (0...1).contains(faults.lostAnswerRate)
            else { throw SimulatorError.malformed("The body must be {\"errorRate\": 0…1, \"lostAnswerRate\": 0…1}") }
            await state.setFaults(faults)
            return try SimulatorAnswer.json(faults)
        }
        router.get("/_sim/hook/received") { _, _ in try SimulatorAnswer.json(await state.report()) }
        router.delete("/_sim/hook/received") { _, _ in
            await state.reset()
            return Response(status: .noContent)
        }
    }
}
