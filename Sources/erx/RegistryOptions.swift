import ArgumentParser
import AsyncHTTPClient
import RegistryClient

/// `erx serve`'s registry options. Without `--registry` the relay keeps the outbox and sends
/// nothing, and `$dispense` decides on the objections stored here.
struct RegistryOptions: ParsableArguments {
    @Option(name: .customLong("registry"), help: "Base URL of the national registry (or of `erx registry-sim`).")
    var url: String?

    @Option(help: "Seconds a registry consent decision is trusted before it is asked again.")
    var consentTTL: Double = 300

    @Option(help: "Milliseconds $dispense waits for a consent lookup before deciding on the stored state.")
    var consentBudgetMs: Int = 150

    @Option(help: "Milliseconds the relay waits for one registry answer.")
    var registryTimeoutMs: Int = 10_000

    @Option(help: "Milliseconds before the first retry of a failed transfer (then ×3 per attempt, with jitter).")
    var relayBackoffMs: Int = 60_000

    @Option(help: "Attempts after which a failing transfer goes to the dead letters.")
    var relayMaxAttempts: Int = 8

    @Option(help: "Seconds a 409 from the registry holds the insurant's transfers.")
    var relayConflictPause: Double = 86_400

    @Option(help: "Milliseconds between the relay's looks at an idle outbox.")
    var relayPollMs: Int = 50

    @Option(help: "Most of one insured person's queued transfers sent in one registry call (A_25956); 1 sends each alone.")
    var relayTransfersPerCall: Int = 16

    /// Not zero by default: a transfer is asynchronous for the pharmacy anyway, and under load a
    /// quarter second lets one call carry several of an insured person's transfers (measured: about
    /// four to six per call at 3.5 k `$dispense` per second, with the lag still under 0.4 s).
    @Option(help: "Milliseconds the relay leaves an insured person's newest transfers, so one call carries more of them.")
    var relayCallHoldMs: Int = 250

    @Option(help: "Milliseconds an insured person's transfers stay claimed by this instance's relay against other instances on the same database.")
    var relayLeaseMs: Int = 30_000

    func validate() throws {
        if let url, !(url.hasPrefix("http://") || url.hasPrefix("https://")) { throw ValidationError("--registry must be an http(s) URL") }
        guard consentTTL >= 0, consentBudgetMs >= 0, registryTimeoutMs > 0, relayBackoffMs >= 0, relayMaxAttempts >= 1,
              relayConflictPause >= 0, relayPollMs > 0, relayTransfersPerCall >= 1, relayCallHoldMs >= 0
        else { throw ValidationError("registry options must be positive") }
        // A claim that could expire during one call would let a second instance send beside it.
        guard relayLeaseMs > registryTimeoutMs else { throw ValidationError("--relay-lease-ms must be longer than --registry-timeout-ms") }
        // Seconds become milliseconds in 64 bits: bounded, so no value can trap the conversion.
        guard consentTTL.isFinite, relayConflictPause.isFinite, consentTTL <= 31_536_000, relayConflictPause <= 31_536_000 else {
            throw ValidationError("--consent-ttl and --relay-conflict-pause must be at most a year")
        }
    }

    func client(http: HTTPClient) -> RegistryHTTPClient? {
        guard let url else { return nil }
        var configuration = RegistryConfiguration(baseURL: url)
        configuration.consentTTL = .milliseconds(Int64(consentTTL * 1000))
        configuration.lookupBudget = .milliseconds(consentBudgetMs)
        configuration.requestTimeout = .milliseconds(registryTimeoutMs)
        configuration.backoffBase = .milliseconds(relayBackoffMs)
        configuration.backoffCap = max(configuration.backoffCap, configuration.backoffBase)
        configuration.maximumAttempts = relayMaxAttempts
        configuration.conflictPause = .milliseconds(Int64(relayConflictPause * 1000))
        configuration.pollInterval = .milliseconds(relayPollMs)
        configuration.transfersPerCall = relayTransfersPerCall
        configuration.callHold = .milliseconds(relayCallHoldMs)
        configuration.relayLease = .milliseconds(relayLeaseMs)
        return RegistryHTTPClient(configuration: configuration, http: http)
    }
}
