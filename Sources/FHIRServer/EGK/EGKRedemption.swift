public import Dispensing
public import Foundation
import Synchronization

/// How `GET /Task` answers a pharmacy that presents an eGK proof (fd-parity §1): the VSDM keys,
/// the proof's validity, the PN3 switch and the daily lock.
public struct EGKRedemption: Sendable {
    public var keys: VSDMKeySet
    /// A PZ's time may differ from now by at most this (A_23451-01; IBM `vsdmValiditySeconds`).
    public var validitySeconds: Int
    /// Accept a PN3 (no PZ, result 3) with 202 (A_25207, A_25209-01): our stand-in for IBM's
    /// runtime switch `AcceptPN3` (admin API, with an expiry).
    public var acceptPN3: Bool
    /// Refuse a proof without `hcv` (457, A_27346); IBM's production configuration has it off.
    public var enforceHCV: Bool
    public var lock: PharmacyDailyLock
    /// Verifies `X-PoPP-Token`; `nil`: every PoPP token is refused (403), as the FD without the
    /// PoPP service's entity statement.
    public var popp: PoPPVerifier?

    public init(keys: VSDMKeySet = VSDMKeySet(), validitySeconds: Int = 1800, acceptPN3: Bool = false, enforceHCV: Bool = false,
                dailyFailureLimit: Int = PharmacyDailyLock.defaultLimit, popp: PoPPVerifier? = nil) {
        self.popp = popp
        self.keys = keys
        self.validitySeconds = validitySeconds
        self.acceptPN3 = acceptPN3
        self.enforceHCV = enforceHCV
        lock = PharmacyDailyLock(limit: dailyFailureLimit)
    }
}

/// A_27445, A_27446 (IBM `TaskRateLimiter`): failed proofs per Telematik-ID and UTC day; a pharmacy
/// with `limit` of them is answered 423 for the rest of the day. Counted: 458, and 456 of a v2 PZ.
///
/// The count lives in the store (``ProofFailureStore``, both of erx's stores), so every instance
/// on one database sees every failure: behind a balancer a pharmacy gets `limit` failures a day,
/// not `limit` per instance. IBM keeps it in Redis, expiring at 00:00 UTC; the store keeps a row
/// per pharmacy and day and removes earlier days when it counts. A store without the port (a test
/// double) counts here, in memory, per instance.
public final class PharmacyDailyLock: Sendable {
    public static let defaultLimit = 100
    public let limit: Int
    private let state = Mutex<(day: Int64, failures: [String: Int])>((0, [:]))

    public init(limit: Int) {
        self.limit = limit
    }

    /// The UTC day of `now` (days since 1970): counters reset at 00:00 UTC.
    static func day(_ now: Date) -> Int64 {
        Int64((now.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    /// Whether the pharmacy reached the limit today, by the store's count when there is one.
    public func isBlocked(_ telematikID: TelematikID, now: Date, in store: (any ProofFailureStore)?) async throws -> Bool {
        guard let store else { return isBlocked(telematikID.rawValue, now: now) }
        return try await store.proofFailures(of: telematikID, day: Self.day(now)) >= limit
    }

    /// Counts one failure, in the store when there is one.
    public func recordFailure(_ telematikID: TelematikID, now: Date, in store: (any ProofFailureStore)?) async throws {
        guard let store else { return recordFailure(telematikID.rawValue, now: now) }
        _ = try await store.recordProofFailure(of: telematikID, day: Self.day(now))
    }

    /// The in-memory count of this instance (stores without ``ProofFailureStore``).
    public func isBlocked(_ telematikID: String, now: Date) -> Bool {
        state.withLock { state in
            if state.day != Self.day(now) { state = (Self.day(now), [:]) }
            return state.failures[telematikID, default: 0] >= limit
        }
    }

    public func recordFailure(_ telematikID: String, now: Date) {
        state.withLock { state in
            if state.day != Self.day(now) { state = (Self.day(now), [:]) }
            state.failures[telematikID, default: 0] += 1
        }
    }
}
