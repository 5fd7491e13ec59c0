public import Dispensing
import Foundation
public import Logging
public import ServiceLifecycle

/// Drains the outbox to the registry (ARCHITECTURE decision 6), as a lifecycle service beside the
/// HTTP server. Up to `concurrency` insurants are served at once, each by a worker that sends the
/// insurant's due transfers strictly in order; a worker that is answered frees its place at once,
/// and what it was answered is settled in the next store write. So an insurant whose registry
/// answers slowly holds up only their own transfers (a round that waited for its slowest insurant
/// let a single slow record system delay every transfer by up to the request timeout), as long as
/// fewer than `concurrency` such insurants wait at the same time.
///
/// Exactly once: a transfer is settled `sent` only after the registry applied it; one applied but
/// not yet settled (a crash, a lost answer) is sent again with the same idempotency key, which the
/// registry recognises. An insurant is not read again while its worker runs, so nothing is sent
/// twice at the same time; where several erx instances drain one outbox, each insurant is claimed
/// by one relay at a time (`RelayClaim`), so the same holds across them. Without a registry
/// (`client == nil`) the outbox only fills.
public struct OutboxRelay: Service {
    let outbox: any OutboxStore
    let client: RegistryHTTPClient?
    let consent: ConsentCache?
    let metrics: RelayMetrics?
    let clock: any WallClock
    let logger: Logger
    /// Names this relay in its claims on insurants (see `RelayClaim`): unique per process run.
    let holder: String

    public init(outbox: any OutboxStore, client: RegistryHTTPClient?, consent: ConsentCache?, metrics: RelayMetrics?,
                clock: any WallClock = SystemWallClock(), logger: Logger,
                holder: String? = nil) {
        self.holder = holder ?? Self.processHolder
        self.outbox = outbox
        self.client = client
        self.consent = consent
        self.metrics = metrics
        self.clock = clock
        self.logger = logger
    }

    /// Host, process id and a random part: unique per process run, and telling an operator which
    /// instance holds a claim.
    static let processHolder =
        "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)/\(RandomIDGenerator.randomUUID().prefix(8))"

    public func run() async throws {
        guard let client, let consent else {
            logger.info("relay: no registry configured, transfers stay in the outbox")
            // The outbox still fills: keep its gauges current until shutdown.
            await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    if let metrics, let statistics = try? await outbox.outboxStatistics() { metrics.observe(statistics, now: clock.now()) }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            return
        }
        // Stops by cancelling the workers' requests: what was not settled stays pending and goes out
        // after the restart.
        await cancelWhenGracefulShutdown {
            await drain(client: client, consent: consent)
        }
    }

    private enum Event: Sendable {
        /// A worker is done with this insurant: what the registry's answers settle (empty when
        /// nothing was answered, as after a cancelled request).
        case served(KVNR, [OutboxSettlement])
        /// These insurants' settlements are stored (or, when `stored` is false, could not be).
        case settled([(KVNR, [OutboxSettlement])], stored: Bool)
        /// The registry's consent decisions for these insurants are in (they were out of date when
        /// their transfers were read): their workers can start.
        case checked([[OutboxEntry]], [KVNR: Result<[Objection], any Error>])
        /// The poll interval passed: look for new transfers, update the gauges.
        case tick
        /// The claim on this insurant was given up (or its release failed: it runs out).
        case released(KVNR)
    }

    /// The relay's loop: starts workers for due insurants whenever places are free, and settles what
    /// finished workers report, until cancelled; then it lets the running workers end and settles
    /// what they were answered.
    ///
    /// A worker's place is free as soon as its requests are answered; its insurant stays out of the
    /// reads until the settlement is stored (read again before, a sent transfer would still look
    /// pending). Settlements are stored by one write at a time, each taking all that finished
    /// meanwhile: a write per worker would make every worker wait for a commit of its own.
    private func drain(client: RegistryHTTPClient, consent: ConsentCache) async {
        let configuration = client.configuration
        let dispatch = TransferDispatch(client: client, consent: consent, clock: clock, logger: logger)
        let limit = max(1, configuration.concurrency)
        let claim = RelayClaim(holder: holder, duration: configuration.relayLease.seconds)
        var lastRenewal = ContinuousClock.now
        await withTaskGroup(of: Event.self) { group in
            var working = 0
            var busy: Set<KVNR> = []
            /// Insurants read but not yet started, oldest first; in `busy` already. Left pending when stopping.
            var ahead: [[OutboxEntry]] = []
            var unsettled: [(KVNR, [OutboxSettlement])] = []
            var settling = 0
            var stopping = false
            var quietUntil = ContinuousClock.now
            func settleIfIdle() {
                guard settling == 0, !unsettled.isEmpty, stopping || ContinuousClock.now >= quietUntil else { return }
                let batch = unsettled
                unsettled = []
                settling = batch.count
                group.addTask {
                    do {
                        try await outbox.settle(batch.flatMap(\.1), at: clock.now())
                        // Served and settled: another relay may take the insurants at once (a failed
                        // release only lets the claims run out).
                        try? await outbox.releaseClaims(Set(batch.map(\.0)), holder: claim.holder)
                        return .settled(batch, stored: true)
                    } catch {
                        logger.error("relay: settling failed, trying again", metadata: ["error": "\(String(describing: type(of: error)))"])
                        return .settled(batch, stored: false)
                    }
                }
            }
            func start(_ insurants: [[OutboxEntry]], consentStates: [KVNR: Result<[Objection], any Error>]) {
                for entries in insurants {
                    let kvnr = entries[0].kvnr
                    // Every started insurant has an outcome; were one missing, its transfers would stay
                    // pending (as after a cancelled request), never go out unchecked.
                    let consentState = consentStates[kvnr] ?? .failure(CancellationError())
                    group.addTask { .served(kvnr, await dispatch.serve(entries, objections: consentState)) }
                }
            }
            group.addTask { .tick }
            while let event = await group.next() {
                stopping = stopping || Task.isCancelled
                var isTick = false
                switch event {
                case let .served(kvnr, settlements):
                    working -= 1
                    if settlements.isEmpty {
                        // Out of `busy` only once released: read and claimed again before, the
                        // release would delete the new claim.
                        group.addTask { try? await outbox.releaseClaims([kvnr], holder: claim.holder); return .released(kvnr) }
                    } else {
                        unsettled.append((kvnr, settlements))
                    }
                case let .settled(batch, stored):
                    settling = 0
                    if stored {
                        busy.subtract(batch.map(\.0))
                        metrics?.count(batch.flatMap(\.1))
                    } else if !stopping {
                        // The store refused: keep the insurants out of the reads (their transfers were
                        // answered) and store the settlements again after a pause, not at once. (When
                        // stopping, they stay pending and go again, with the same keys, after the restart.)
                        unsettled.insert(contentsOf: batch, at: 0)
                        quietUntil = ContinuousClock.now + configuration.pollInterval * 10
                    }
                case let .checked(insurants, consentStates):
                    if stopping {
                        // Shutting down: they were not sent, so they simply stay pending (their claims
                        // are given up below).
                        working -= insurants.count
                    } else {
                        start(insurants, consentStates: consentStates)
                    }
                case .tick:
                    guard !stopping else { break }
                    isTick = true
                    group.addTask {
                        try? await Task.sleep(for: configuration.pollInterval)
                        return .tick
                    }
                    if let metrics, let statistics = try? await outbox.outboxStatistics() { metrics.observe(statistics, now: clock.now()) }
                    // Claims held this long are renewed: insurants waiting for a place, or served by a
                    // slow registry, stay this relay's. One taken over meanwhile (this relay stalled
                    // past its lease) is left to its new holder once its worker is done.
                    if !busy.isEmpty, ContinuousClock.now - lastRenewal >= configuration.relayLease / 3 {
                        lastRenewal = ContinuousClock.now
                        if let kept = try? await outbox.renewClaims(busy, claim: claim, now: clock.now()) {
                            // Lost meanwhile (this relay stalled past its lease, another took them over):
                            // those not started yet are left to their new holder.
                            let lost = busy.subtracting(kept)
                            let dropped = ahead.filter { lost.contains($0[0].kvnr) }
                            ahead.removeAll { lost.contains($0[0].kvnr) }
                            busy.subtract(dropped.map { $0[0].kvnr })
                        }
                    }
                case .released(let kvnr):
                    busy.remove(kvnr)
                }
                settleIfIdle()
                // Answered but not yet stored is bounded (a few times the places): with slow commits,
                // starting more would let transfers sent but not settled pile up, and all of them go
                // again after a crash.
                let free = limit - working
                guard !stopping, free > 0, unsettled.count + settling < limit * 4, ContinuousClock.now >= quietUntil else { continue }
                if ahead.isEmpty {
                    // Read again on every tick, or once a quarter of the places are free: a read per
                    // finished insurant would cost a database read per transfer. A read looks at every
                    // pending row in its window, whoever it then picks, so it takes a full set of places'
                    // worth of insurants, not just the free ones: the rest wait here (busy, so no read
                    // picks them twice) for the next places to free. Taking only the free ones read the
                    // same held rows again for every few insurants (measured: the reads were a quarter
                    // of the store's CPU with the relay on).
                    guard isTick || free >= max(1, limit / 4) else { continue }
                    do {
                        ahead = try await nextInsurants(excluding: busy, places: limit, claim: claim, configuration: configuration)
                        for entries in ahead { busy.insert(entries[0].kvnr) }
                    } catch where Task.isCancelled {
                        stopping = true
                        continue
                    } catch {
                        logger.error("relay: reading the outbox failed, trying again", metadata: ["error": "\(String(describing: type(of: error)))"])
                        quietUntil = ContinuousClock.now + configuration.pollInterval * 10
                        continue
                    }
                }
                guard !ahead.isEmpty else { continue }
                let starting = Array(ahead.prefix(free))
                ahead.removeFirst(starting.count)
                working += starting.count
                // The consent check before each transfer (A_25951-01): the stored objections of the
                // starting insurants in one read (an objection stored later is seen when the insurant
                // is next served). Decisions out of date are asked beside the loop, each on its own, so
                // an information service that answers slowly holds up only the insurant it was asked about.
                // One look per insurant, so each lands in exactly one of the two lists.
                var current: [[OutboxEntry]] = [], stale: [[OutboxEntry]] = []
                for entries in starting {
                    if consent.isCurrent(entries[0].kvnr) { current.append(entries) } else { stale.append(entries) }
                }
                if !current.isEmpty {
                    start(current, consentStates: await consent.storedObjections(of: current.map { $0[0].kvnr }))
                }
                for entries in stale {
                    // One by one: a lookup that hangs must not hold the others' answers.
                    group.addTask { .checked([entries], await consent.objections(of: [entries[0].kvnr], concurrency: 1)) }
                }
            }
            // Stopped: what is still claimed was not settled; another instance may take it at once
            // instead of after the lease.
            try? await outbox.releaseClaims(busy, holder: claim.holder)
        }
    }

    /// The next insurants to serve, at most `places`, each with their due transfers in order; rows
    /// that cannot be read are set aside first, as dead letters for an operator (like a payload the
    /// registry refuses), and the insurant's later transfers follow them.
    private func nextInsurants(excluding busy: Set<KVNR>, places: Int, claim: RelayClaim,
                               configuration: RegistryConfiguration) async throws -> [[OutboxEntry]] {
        // A call's worth of rows per place: enough to fill the places and their calls, without
        // reading payloads nobody sends yet.
        let now = clock.now()
        let due = try await outbox.dueInsurants(
            now: now, insurants: places, perInsurant: max(1, configuration.transfersPerCall),
            readyBefore: now.addingTimeInterval(-configuration.callHold.seconds), excluding: busy, claim: claim
        )
        if !due.unreadable.isEmpty {
            let setAside = due.unreadable.map { OutboxSettlement.deadLetter($0.id, reason: $0.reason) }
            try await outbox.settle(setAside, at: clock.now())
            metrics?.count(setAside)
        }
        var groups: [[OutboxEntry]] = []
        var index: [KVNR: Int] = [:]
        for entry in due.entries {
            if let position = index[entry.kvnr] {
                groups[position].append(entry)
            } else if groups.count < places {
                index[entry.kvnr] = groups.count
                groups.append([entry])
            }
        }
        return groups
    }
}
