import Foundation

/// How the webhook relay delivers (issue 23, item 3). The defaults suit receivers on the internet;
/// tests shorten the waits.
public struct WebhookConfiguration: Sendable {
    /// How long one delivery may take before it counts as failed.
    public var requestTimeout: Duration = .seconds(10)
    /// Back-off after a failed delivery (with jitter); the first retry after `backoff.base`.
    public var backoff = RelayBackoff(base: .seconds(10), factor: 3, cap: .seconds(3600))
    /// A delivery that failed this many times goes to the dead letters; the subscription's later
    /// deliveries follow it.
    public var maximumAttempts: Int = 10
    /// How often an idle relay looks for new deliveries.
    public var pollInterval: Duration = .milliseconds(100)
    /// How many subscriptions are served at once (each one delivery at a time, in order).
    public var concurrency: Int = 16
    /// How long a subscription the relay serves stays claimed against other instances. A worker
    /// starts a delivery only while it would end within half of it, so a claim never runs out while
    /// its holder still sends (`erx serve` requires more than twice `requestTimeout`).
    public var lease: Duration = .seconds(30)
    /// The most deliveries of one subscription a worker takes at once.
    public var perSubscription: Int = 16

    public init() {}
}
