public import Dispensing
import Foundation
public import Logging
public import ServiceLifecycle

/// Drains the outbox to the registry (ARCHITECTURE decision 6), as a lifecycle service beside the
/// HTTP server. Each round reads the due transfers, serves up to `concurrency` insurants at once
/// (one insurant's transfers strictly in order), and settles the round in one store transaction.
///
/// Exactly once: a transfer is settled `sent` only after the registry applied it; one applied but
/// not yet settled (a crash, a lost answer) is sent again with the same idempotency key, which the
/// registry recognises. Without a registry (`client == nil`) the outbox only fills.
public struct OutboxRelay: Service {
    let outbox: any OutboxStore
    let client: RegistryHTTPClient?
    let consent: ConsentCache?
    let metrics: RelayMetrics?
    let clock: any WallClock
    let logger: Logger

    public init(outbox: any OutboxStore, client: RegistryHTTPClient?, consent: ConsentCache?, metrics: RelayMetrics?,
                clock: any WallClock = SystemWallClock(), logger: Logger) {
        self.outbox = outbox
        self.client = client
        self.consent = consent
        self.metrics = metrics
        self.clock = clock
        self.logger = logger
    }

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
        let configuration = client.configuration
        // Stops between rounds, or by cancelling a round's requests: what was not settled stays
        // pending and goes out after the restart.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let due = try await outbox.dueTransfers(now: clock.now(), limit: configuration.batchSize)
                    if due.rowCount > 0 {
                        // A row that cannot be read is set aside for an operator, like a payload the
                        // registry refuses; the insurant's later transfers follow it.
                        let setAside = due.unreadable.map { OutboxSettlement.deadLetter($0.id, reason: $0.reason) }
                        let settlements = await setAside + round(due.entries, client: client, consent: consent)
                        try await outbox.settle(settlements, at: clock.now())
                        metrics?.count(settlements)
                    }
                    if let metrics { metrics.observe(try await outbox.outboxStatistics(), now: clock.now()) }
                    if due.rowCount < configuration.batchSize { try await Task.sleep(for: configuration.pollInterval) }
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("relay: round failed, trying again", metadata: ["error": "\(String(describing: type(of: error)))"])
                    try? await Task.sleep(for: configuration.pollInterval * 10)
                }
            }
        }
    }

    /// One round: the due transfers grouped by insurant (in their order), the groups served
    /// concurrently, their settlements concatenated.
    func round(_ due: [OutboxEntry], client: RegistryHTTPClient, consent: ConsentCache) async -> [OutboxSettlement] {
        var groups: [[OutboxEntry]] = []
        var index: [KVNR: Int] = [:]
        for entry in due {
            if let position = index[entry.kvnr] {
                groups[position].append(entry)
            } else {
                index[entry.kvnr] = groups.count
                groups.append([entry])
            }
        }
        let dispatch = TransferDispatch(client: client, consent: consent, clock: clock, logger: logger)
        let limit = max(1, client.configuration.concurrency)
        // The consent check before each transfer (A_25951-01) reads the round's insurants at once,
        // when the round starts: an objection stored later is seen by the next round.
        let consentStates = await consent.objections(of: groups.map { $0[0].kvnr }, concurrency: limit)
        return await withTaskGroup(of: (Int, [OutboxSettlement]).self) { group in
            var results = [[OutboxSettlement]](repeating: [], count: groups.count)
            var next = 0
            func startNext() {
                guard next < groups.count else { return }
                let position = next
                let entries = groups[position]
                // Every insurant of the round has an outcome; were one missing, its transfers would
                // stay pending (as after a cancelled round), never go out unchecked.
                let consentState = consentStates[entries[0].kvnr] ?? .failure(CancellationError())
                group.addTask { (position, await dispatch.serve(entries, objections: consentState)) }
                next += 1
            }
            for _ in 0..<limit { startNext() }
            while let (position, settlements) = await group.next() {
                results[position] = settlements
                startNext()
            }
            return results.flatMap { $0 }
        }
    }
}
