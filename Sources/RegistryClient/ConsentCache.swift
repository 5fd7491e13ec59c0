public import Dispensing
import Foundation
import Synchronization

/// The registry's consent decisions, asked at most once per TTL per insurant and recorded in the
/// store as objections (ARCHITECTURE decision 5), where `$dispense` reads them in its transaction.
///
/// One lookup per insurant is in flight at a time; callers asking meanwhile share it. A lookup
/// outlives a caller that stopped waiting (`refresh` gives up after the budget): its answer still
/// lands in the store for the next request.
public actor ConsentCache: ObjectionRegistry {
    let client: RegistryHTTPClient
    let store: any TaskStore
    let clock: any WallClock
    /// When each insurant's decision was last asked, and failed: behind a lock, not the actor, so
    /// `$dispense` learns that a decision is current without leaving its transaction.
    private let decisions = Mutex(DecisionTimes())
    private var inFlight: [KVNR: Task<Void, any Error>] = [:]
    private var isShutDown = false
    /// After a failed lookup, `$dispense` does not wait for the registry again for this long (a
    /// registry that is down would cost every request the whole budget). The relay still asks
    /// before each transfer.
    static let quietAfterFailure: Duration = .seconds(5)

    public init(client: RegistryHTTPClient, store: any TaskStore, clock: any WallClock = SystemWallClock()) {
        self.client = client
        self.store = store
        self.clock = clock
    }

    /// Cancels the lookups in flight, starts no more, and returns once they have ended. For
    /// shutdown: a lookup outlives its callers (see above), and the HTTP client's shutdown waits for
    /// it, so a registry that does not answer would hold the process for the whole request timeout.
    /// What a cancelled lookup would have learnt is asked again after the restart.
    public func shutdown() async {
        isShutDown = true
        let running = Array(inFlight.values)
        for lookup in running { lookup.cancel() }
        for lookup in running { _ = try? await lookup.value }
    }

    /// Whether a lookup is running (tests watch shutdown with it).
    public var hasLookupsInFlight: Bool { !inFlight.isEmpty }

    /// For `$dispense`: returns once the decision is current or the lookup budget is spent,
    /// whichever comes first; never throws (a failed lookup leaves the stored state in force).
    public func refresh(_ kvnr: KVNR) async {
        guard needsRefresh(kvnr) else { return }
        let lookup = self.lookup(kvnr)
        let budget = client.configuration.lookupBudget
        // Not a task group: a group waits for all its children, and waiting for an unstructured
        // task's value does not end when the waiter is cancelled, so the budget would not hold.
        await withCheckedContinuation { continuation in
            let once = ResumeOnce(continuation)
            let timer = Task {
                try? await Task.sleep(for: budget)
                once.resume()
            }
            Task {
                _ = try? await lookup.value
                timer.cancel()
                once.resume()
            }
        }
    }

    /// For the relay: each insurant's objections with the registry's decision current, or
    /// the error that kept it from being asked (the insurant's transfers then wait, A_25942).
    ///
    /// Stale decisions are asked at most `concurrency` at a time; then one store read serves all
    /// the insurants, where a read per insurant cost a database round trip per transfer.
    public func objections(of kvnrs: [KVNR], concurrency: Int) async -> [KVNR: Result<[Objection], any Error>] {
        var outcomes: [KVNR: Result<[Objection], any Error>] = [:]
        let stale = Array(Set(kvnrs.filter { !isCurrent($0) }))
        let width = max(1, concurrency)
        for start in stride(from: 0, to: stale.count, by: width) {
            let lookups = stale[start..<min(stale.count, start + width)].map { ($0, lookup($0)) }
            for (kvnr, lookup) in lookups {
                do { try await lookup.value } catch { outcomes[kvnr] = .failure(error) }
            }
        }
        let answered = Array(Set(kvnrs).filter { outcomes[$0] == nil })
        return outcomes.merging(await storedObjections(of: answered)) { failure, _ in failure }
    }

    /// The registry answered a transfer with 423: the objection is stored at once (the next
    /// `$dispense` answers 423 even while the relay is still sending), and the decision
    /// counts as fresh from now, so the next `$dispense` does not ask again within the TTL.
    public func recordLocked(_ objection: Objection) async throws {
        decisions.withLock { $0.checked[objection.kvnr] = .now }
        try await store.record(objection)
    }

    public nonisolated func needsRefresh(_ kvnr: KVNR) -> Bool {
        let ttl = client.configuration.consentTTL
        return decisions.withLock { !$0.isFresh(kvnr, ttl: ttl) && !$0.failedRecently(kvnr) }
    }

    /// Whether the registry's decision about `kvnr` is within its TTL: the relay's consent check
    /// then needs no lookup, only the stored objections (``storedObjections(of:)``).
    public nonisolated func isCurrent(_ kvnr: KVNR) -> Bool {
        let ttl = client.configuration.consentTTL
        return decisions.withLock { $0.isFresh(kvnr, ttl: ttl) }
    }

    /// The stored objections of the insurants in one read, never asking the registry (the relay
    /// calls it for decisions it found current: one that expired since is asked the next time).
    public nonisolated func storedObjections(of kvnrs: [KVNR]) async -> [KVNR: Result<[Objection], any Error>] {
        do {
            let stored = try await store.objections(of: Set(kvnrs))
            return Dictionary(kvnrs.map { ($0, .success(stored[$0] ?? [])) }, uniquingKeysWith: { first, _ in first })
        } catch {
            return Dictionary(kvnrs.map { ($0, .failure(error)) }, uniquingKeysWith: { first, _ in first })
        }
    }

    private func lookup(_ kvnr: KVNR) -> Task<Void, any Error> {
        if let running = inFlight[kvnr] { return running }
        if isShutDown { return Task { throw CancellationError() } }
        // Unstructured on purpose: it serves every caller waiting for this insurant and must not be
        // cancelled with the one that started it. It ends within the request timeout.
        let task = Task {
            defer { self.finished(kvnr) }
            do {
                let asked = clock.now()
                let decisions = try await client.consentDecisions(of: kvnr, timeout: client.configuration.requestTimeout)
                try await record(decisions, of: kvnr, askedAt: asked)
            } catch {
                decisions.withLock { $0.noteFailure(kvnr) }
                throw error
            }
            let ttl = client.configuration.consentTTL
            decisions.withLock { $0.answered(kvnr, ttl: ttl) }
        }
        inFlight[kvnr] = task
        return task
    }

    private func finished(_ kvnr: KVNR) { inFlight[kvnr] = nil }

    /// Writes only what changed: a `permit` lifts what the registry said before the question was
    /// asked (a `deny` or a 423 that arrived meanwhile stays); a `deny` adds the categories not yet
    /// stored.
    private func record(_ decisions: RegistryHTTPClient.ConsentDecisions, of kvnr: KVNR, askedAt: Date) async throws {
        let stored = try await store.objections(of: kvnr).filter { ObjectionSource.registry.contains($0.source) }
        if decisions.denied.isEmpty {
            if !stored.isEmpty { try await store.liftObjections(of: kvnr, sources: ObjectionSource.registry, category: nil, recordedBefore: askedAt) }
            return
        }
        for category in decisions.denied.sorted() where !stored.contains(where: { $0.source == .consentDecision && $0.category == category }) {
            try await store.record(Objection(kvnr: kvnr, category: category, source: .consentDecision, since: clock.now()))
        }
    }
}

/// When the registry last answered about each insurant, and when it last failed to.
private struct DecisionTimes {
    var checked: [KVNR: ContinuousClock.Instant] = [:]
    var failed: [KVNR: ContinuousClock.Instant] = [:]

    func isFresh(_ kvnr: KVNR, ttl: Duration) -> Bool {
        guard let checked = checked[kvnr] else { return false }
        return checked.duration(to: .now) < ttl
    }

    mutating func failedRecently(_ kvnr: KVNR) -> Bool {
        guard let failed = failed[kvnr] else { return false }
        if failed.duration(to: .now) < ConsentCache.quietAfterFailure { return true }
        self.failed[kvnr] = nil
        return false
    }

    mutating func noteFailure(_ kvnr: KVNR) {
        // A registry that is down fails every lookup: forget the failures that no longer count.
        if failed.count > 100_000 {
            failed = failed.filter { $0.value.duration(to: .now) < ConsentCache.quietAfterFailure }
        }
        failed[kvnr] = .now
    }

    mutating func answered(_ kvnr: KVNR, ttl: Duration) {
        // Forget what has expired once the map grows, so it stays as large as the active insurants.
        if checked.count > 100_000 {
            checked = checked.filter { $0.value.duration(to: .now) < ttl }
        }
        checked[kvnr] = .now
        failed[kvnr] = nil
    }
}

/// Resumes a continuation the first time `resume` is called; later calls do nothing.
final class ResumeOnce: Sendable {
    private let continuation: Mutex<CheckedContinuation<Void, Never>?>

    init(_ continuation: CheckedContinuation<Void, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume() {
        continuation.withLock { stored in
            defer { stored = nil }
            return stored
        }?.resume()
    }
}
