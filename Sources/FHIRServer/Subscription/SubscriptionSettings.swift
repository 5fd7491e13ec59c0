public import Foundation

/// Everything `POST /Subscription` and the websocket endpoint share: the token key, the pseudonym
/// key, the hub of open websockets, and the endpoint's path and limits.
public struct SubscriptionSettings: Sendable {
    public var tokens: SubscriptionTokens
    public var pseudonyms: TelematikPseudonyms
    public let hub: NotificationHub
    /// The websocket endpoint's path on the FHIR listener (the FD's is `/subscription`, on a host of its own).
    public var path: String
    /// How long a subscription and its token live (A_22364: 12 h, then the client registers again).
    public var lifetime: TimeInterval

    public init(tokens: SubscriptionTokens, pseudonyms: TelematikPseudonyms, limits: WebSocketLimits = WebSocketLimits(),
                path: String = "/subscription", lifetime: TimeInterval = 12 * 3600) {
        self.tokens = tokens
        self.pseudonyms = pseudonyms
        self.hub = NotificationHub(pseudonyms: pseudonyms, limits: limits)
        self.path = path
        self.lifetime = lifetime
    }

    /// Keys that live only in memory: a server without a data directory (tests), whose tokens and
    /// ids do not outlive the process.
    public static func ephemeral() -> SubscriptionSettings {
        SubscriptionSettings(tokens: .ephemeral(), pseudonyms: .ephemeral())
    }
}

/// How many websockets may be open (issue 23): a client that keeps opening them must not exhaust
/// the server's descriptors or the hub's memory.
public struct WebSocketLimits: Sendable, Hashable {
    /// Open websockets of one subscription (= one Telematik-ID); one more is refused (429). The FD
    /// expects one per Telematik-ID; a few more allow a reconnect before the old one is noticed dead.
    public var maximumPerSubscription: Int
    /// Open websockets in all; one more is refused (503). They also count against the server's
    /// connection cap (`--max-connections`).
    public var maximumConnections: Int

    public init(maximumPerSubscription: Int = 10, maximumConnections: Int = 1_000) {
        self.maximumPerSubscription = maximumPerSubscription
        self.maximumConnections = maximumConnections
    }
}
