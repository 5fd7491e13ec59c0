import ArgumentParser
import RegistryClient

/// `erx serve`'s options of the BfArM relay, which sends the carbon copies of closed T-Rezepte
/// (flow 166, A_27828). Without `--bfarm-url` the relay does not run: the copies are still written
/// at `$close` and wait in their outbox (a warning at start says so) until a server with the URL
/// sends them.
struct BfArMOptions: ParsableArguments {
    @Option(help: "URL the carbon copies of closed T-Rezepte are POSTed to (the BfArM web service; IBM: https://<host>/ords/rezepte/t-rezept/v1). Unset: the copies wait in their outbox.")
    var bfarmUrl: String?

    @Option(help: "Milliseconds the BfArM relay waits for an answer.")
    var bfarmTimeoutMs: Int = 10_000

    @Option(help: "Milliseconds before the first retry of a failed carbon copy (then ×2 per attempt, with jitter, at most 256 times it; IBM: 60 s).")
    var bfarmBackoffMs: Int = 60_000

    @Option(help: "Attempts after which a failing carbon copy goes to the dead letters (IBM: the first and 20 retries).")
    var bfarmMaxAttempts: Int = 21

    @Option(help: "Milliseconds between the BfArM relay's looks at an idle outbox.")
    var bfarmPollMs: Int = 500

    @Option(help: "Milliseconds the copies the BfArM relay took stay claimed against other instances on the same database.")
    var bfarmLeaseMs: Int = 30_000

    func validate() throws {
        guard bfarmTimeoutMs > 0, bfarmBackoffMs >= 0, bfarmMaxAttempts >= 1, bfarmPollMs > 0 else {
            throw ValidationError("bfarm options must be positive")
        }
        guard bfarmLeaseMs > 2 * bfarmTimeoutMs else { throw ValidationError("--bfarm-lease-ms must be more than twice --bfarm-timeout-ms") }
        if let bfarmUrl, !(bfarmUrl.hasPrefix("http://") || bfarmUrl.hasPrefix("https://")) {
            throw ValidationError("--bfarm-url must be an http(s) URL")
        }
    }

    /// `nil` without a URL.
    var configuration: CarbonCopyConfiguration? {
        guard let bfarmUrl else { return nil }
        var configuration = CarbonCopyConfiguration(endpoint: bfarmUrl)
        configuration.requestTimeout = .milliseconds(bfarmTimeoutMs)
        configuration.backoff = RelayBackoff(base: .milliseconds(bfarmBackoffMs), factor: 2, cap: .milliseconds(bfarmBackoffMs) * 256)
        configuration.maximumAttempts = bfarmMaxAttempts
        configuration.pollInterval = .milliseconds(bfarmPollMs)
        configuration.lease = .milliseconds(bfarmLeaseMs)
        return configuration
    }
}
