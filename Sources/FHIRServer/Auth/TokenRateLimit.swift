public import Foundation
import Synchronization

/// The per-token DoS limit of A_19992 (fd-messaging-transport §3.5): at most `calls` requests per
/// `window` for one `sub`; the call over the limit blocks that `sub` until its token expires, and
/// every blocked call is answered 429 `Token with given sub used too often within certain
/// timespan.` with `VAU-Error-Code: brute_force`. The FD's configuration is 200 calls per second
/// (`server/token/ulimitCalls`, `ulimitTimespanMS`). Counted in fixed windows, as the FD does.
///
/// Counted in this instance's memory: several instances behind one balancer each admit the limit
/// (the FD counts in a shared Redis). Tokens without `sub` are not counted: the IDP always sets it
/// (the FD refuses tokens without), and the ES256 development tokens of `erx token` have none.
public struct TokenRateLimit: Sendable, Hashable {
    public var calls: Int
    public var window: TimeInterval

    public init(calls: Int = 200, window: TimeInterval = 1) {
        self.calls = calls
        self.window = window
    }
}

/// The counters of ``TokenRateLimit``: per subject, the current window's calls and a block.
final class SubjectRateLimiter: Sendable {
    private struct Counter {
        var window: Int64
        var calls: Int
        var blockedUntil: Date?
        var expires: Date
    }

    let limit: TokenRateLimit
    private let counters: Mutex<[String: Counter]> = Mutex([:])
    /// Subjects kept at most; beyond, the counters of past windows that block nothing go.
    private let capacity = 100_000

    init(_ limit: TokenRateLimit) {
        self.limit = limit
    }

    /// Counts one call of `subject`, whose token expires at `expires`; throws 429 when blocked.
    func admit(_ subject: String?, until expires: Date, at now: Date) throws(RequestError) {
        guard let subject else { return }
        let windowMilliseconds = max(1, Int64(limit.window * 1000))
        let milliseconds = Int64(now.timeIntervalSince1970 * 1000)
        let window = milliseconds - milliseconds % windowMilliseconds
        let admitted = counters.withLock { counters -> Bool in
            var counter = counters[subject] ?? Counter(window: window, calls: 0, expires: expires)
            if let blockedUntil = counter.blockedUntil, now <= blockedUntil { return false }
            counter.blockedUntil = nil
            if counter.window != window { (counter.window, counter.calls) = (window, 0) }
            counter.calls += 1
            counter.expires = max(counter.expires, expires)
            // The first call of a window always passes (IBM `RateLimiter::updateCallsCounter`).
            let admitted = counter.calls == 1 || counter.calls <= limit.calls
            if !admitted { counter.blockedUntil = expires }
            if counters[subject] == nil && counters.count >= capacity {
                counters = counters.filter { $0.value.window == window || ($0.value.blockedUntil.map { now <= $0 } ?? false) }
            }
            counters[subject] = counter
            return admitted
        }
        guard admitted else { throw .tokenRateLimited }
    }
}
