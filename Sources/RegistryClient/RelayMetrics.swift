public import CoreMetrics
import Dispensing
import Foundation

/// What the relay reports: transfers by outcome, and the outbox's depth, oldest age and dead letters.
public struct RelayMetrics: Sendable {
    let sent: Counter
    let refused: Counter
    let retried: Counter
    let dead: Counter
    let dropped: Counter
    let paused: Counter
    let depth: Gauge
    let oldestAge: Gauge
    let deadLetters: Gauge

    public init(factory: any MetricsFactory) {
        func outcome(_ name: String) -> Counter {
            Counter(label: "erx_relay_transfers_total", dimensions: [("outcome", name)], factory: factory)
        }
        sent = outcome("sent")
        refused = outcome("refused")
        retried = outcome("retried")
        dead = outcome("dead")
        dropped = outcome("dropped")
        paused = outcome("paused")
        depth = Gauge(label: "erx_outbox_pending", factory: factory)
        oldestAge = Gauge(label: "erx_outbox_oldest_pending_age_seconds", factory: factory)
        deadLetters = Gauge(label: "erx_outbox_dead_letters", factory: factory)
    }

    func count(_ settlements: [OutboxSettlement]) {
        for settlement in settlements {
            switch settlement {
            case .sent: sent.increment()
            case .refused: refused.increment()
            case .retry: retried.increment()
            case .deadLetter: dead.increment()
            case .pause: paused.increment()
            case .drop: dropped.increment()
            }
        }
    }

    func observe(_ statistics: OutboxStatistics, now: Date) {
        depth.record(statistics.pending)
        oldestAge.record(statistics.oldestPending.map { max(0, now.timeIntervalSince($0)) } ?? 0)
        deadLetters.record(statistics.dead)
    }
}
