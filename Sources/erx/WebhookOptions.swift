import ArgumentParser
import RegistryClient

/// `erx serve`'s webhook relay options (issue 23, item 3). The relay always runs: a store without
/// subscriptions has nothing for it to deliver.
struct WebhookOptions: ParsableArguments {
    @Option(help: "Milliseconds the webhook relay waits for a receiver's answer.")
    var webhookTimeoutMs: Int = 10_000

    @Option(help: "Milliseconds before the first retry of a failed webhook delivery (then ×3 per attempt, with jitter, at most an hour).")
    var webhookBackoffMs: Int = 10_000

    @Option(help: "Attempts after which a failing webhook delivery goes to the dead letters.")
    var webhookMaxAttempts: Int = 10

    @Option(help: "Milliseconds between the webhook relay's looks at an idle delivery queue.")
    var webhookPollMs: Int = 100

    @Option(help: "Milliseconds a subscription's deliveries stay claimed by this instance against other instances on the same database.")
    var webhookLeaseMs: Int = 30_000

    @Option(help: "Subscriptions the webhook relay serves at once.")
    var webhookConcurrency: Int = 16

    func validate() throws {
        guard webhookTimeoutMs > 0, webhookBackoffMs >= 0, webhookMaxAttempts >= 1, webhookPollMs > 0, webhookConcurrency >= 1 else {
            throw ValidationError("webhook options must be positive")
        }
        // A claim that could expire during one delivery would let a second instance send beside it.
        guard webhookLeaseMs > 2 * webhookTimeoutMs else { throw ValidationError("--webhook-lease-ms must be more than twice --webhook-timeout-ms") }
    }

    var configuration: WebhookConfiguration {
        var configuration = WebhookConfiguration()
        configuration.requestTimeout = .milliseconds(webhookTimeoutMs)
        configuration.backoff = RelayBackoff(base: .milliseconds(webhookBackoffMs), factor: 3,
                                             cap: max(.seconds(3600), .milliseconds(webhookBackoffMs)))
        configuration.maximumAttempts = webhookMaxAttempts
        configuration.pollInterval = .milliseconds(webhookPollMs)
        configuration.lease = .milliseconds(webhookLeaseMs)
        configuration.concurrency = webhookConcurrency
        return configuration
    }
}
