import Foundation

/// How the server talks to the national registry. The defaults follow the gematik rules for the
/// ePA transfer (dispense-spec.md §5.3–5.4); tests shorten the waits.
public struct RegistryConfiguration: Sendable {
    /// The registry's base URL (`http://127.0.0.1:8090`): the consent lookup is at
    /// `/information/api/v1/ehr/consentdecisions`, the operations under `/epa/medication/api/v1/fhir/`.
    public var baseURL: String
    /// How long a consent decision is trusted before it is asked again.
    public var consentTTL: Duration = .seconds(300)
    /// How long `$dispense` waits for a consent lookup before it decides on the stored state.
    public var lookupBudget: Duration = .milliseconds(150)
    /// How long the relay waits for one answer (a lookup or a transfer).
    public var requestTimeout: Duration = .seconds(10)
    /// Back-off after a passing failure: `base × factor^(attempts − 1)`, at most `backoffCap`, plus
    /// up to half of it again as jitter (so retries of many transfers do not arrive together, and
    /// no wait is shorter than the formula: A_25958 asks for at least a minute before the first).
    public var backoffBase: Duration = .seconds(60)
    public var backoffFactor: Double = 3
    public var backoffCap: Duration = .seconds(6 * 3600)
    /// A transfer that failed this many times goes to the dead letters (the production exporter: 8).
    public var maximumAttempts: Int = 8
    /// How long a 409 (the record is moving) holds the insurant's transfers (A_25957: 24 h).
    public var conflictPause: Duration = .seconds(24 * 3600)
    /// How often an idle relay looks for new transfers: the relay's lag when nothing else wakes it.
    public var pollInterval: Duration = .milliseconds(50)
    /// The most of one insurant's queued transfers (of one operation) sent in one call (A_25956);
    /// 1 sends each on its own. A read of the outbox takes at most this many per insurant.
    public var transfersPerCall: Int = 16
    /// How long the relay leaves an insurant's newest transfers before it serves them, unless a
    /// call's worth is queued: under load more of them go in one call, and the relay's lag grows
    /// by at most this. Zero serves every transfer as soon as a place is free.
    public var callHold: Duration = .zero
    /// How many insurants are served at once. Each call is one round trip, so the relay's pace is
    /// `concurrency` ÷ the registry's answer time: with 16 and one transfer per call, on two cores
    /// shared with the load, it fell behind at about 3,400 `$dispense` per second (1.3 s lag and
    /// growing); with 32 it kept the lag under 0.1 s.
    public var concurrency: Int = Self.defaultConcurrency
    /// How long an insurant the relay serves stays claimed for it against other erx instances
    /// draining the same outbox (see `RelayClaim`); the relay renews its claims at a third of it, and
    /// a killed instance's claims pass to another after it. Longer than `requestTimeout`.
    public var relayLease: Duration = .seconds(30)
    public static let defaultConcurrency = 32

    public init(baseURL: String) {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        self.baseURL = url
    }

    /// The back-off before attempt `attempts + 1`; `unit` is a draw from `0...1`.
    public func backoff(afterAttempts attempts: Int, unit: Double) -> Duration {
        RelayBackoff(base: backoffBase, factor: backoffFactor, cap: backoffCap).delay(afterAttempts: attempts, unit: unit)
    }
}

/// The relays' back-off (registry transfers and webhook deliveries alike, ARCHITECTURE decision
/// 13): `base × factor^(attempts − 1)`, at most `cap`, plus up to half of it again as jitter.
public struct RelayBackoff: Sendable, Hashable {
    public var base: Duration
    public var factor: Double
    public var cap: Duration

    public init(base: Duration, factor: Double, cap: Duration) {
        self.base = base
        self.factor = factor
        self.cap = cap
    }

    /// The wait before attempt `attempts + 1`; `unit` is a draw from `0...1`.
    public func delay(afterAttempts attempts: Int, unit: Double) -> Duration {
        let raw = base.seconds * pow(factor, Double(max(0, attempts - 1)))
        let capped = min(raw, cap.seconds)
        return .milliseconds(Int64((capped * (1 + 0.5 * unit)) * 1000))
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
