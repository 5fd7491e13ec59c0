public import CoreMetrics
import Dispensing
import Foundation

/// What the webhook relay reports, as ``RelayMetrics`` for the registry: deliveries by outcome, and
/// the webhook outbox's depth, oldest age and dead letters.
public struct WebhookMetrics: Sendable {
    let delivered: Counter
    let retried: Counter
    let dead: Counter
    let depth: Gauge
    let oldestAge: Gauge
    let deadLetters: Gauge

    public init(factory: any MetricsFactory) {
        func outcome(_ name: String) -> Counter {
            Counter(label: "erx_webhook_deliveries_total", dimensions: [("outcome", name)], factory: factory)
        }
        delivered = outcome("delivered")
        retried = outcome("retried")
        dead = outcome("dead")
        depth = Gauge(label: "erx_webhook_pending", factory: factory)
        oldestAge = Gauge(label: "erx_webhook_oldest_pending_age_seconds", factory: factory)
        deadLetters = Gauge(label: "erx_webhook_dead_letters", factory: factory)
    }

    func count(_ settlements: [WebhookSettlement]) {
        for settlement in settlements {
            switch settlement {
            case .delivered: delivered.increment()
            case .retry: retried.increment()
            case .deadLetter: dead.increment()
            }
        }
    }

    func observe(_ statistics: OutboxStatistics, now: Date) {
        depth.record(statistics.pending)
        oldestAge.record(statistics.oldestPending.map { max(0, now.timeIntervalSince($0)) } ?? 0)
        deadLetters.record(statistics.dead)
    }
}
