public import CoreMetrics
import Foundation
public import Prometheus
import Synchronization

/// Request counts and latencies by route and status, for `GET /metrics`. The metric objects are
/// made once per (route, status) and kept, so a request costs two lock-free-ish updates and one
/// dictionary lookup rather than a registry lookup.
public final class RequestMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    private let counters = Mutex<[Key: CoreMetrics.Counter]>([:])
    private let timers = Mutex<[Key: CoreMetrics.Timer]>([:])

    struct Key: Hashable {
        let route: String
        let status: Int
    }

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        factory = PrometheusMetricsFactory(registry: registry)
    }

    /// `route` is the route's method and pattern (`POST /Task/{id}/$dispense`), never a concrete
    /// path: ids would make one series per prescription.
    func record(route: String, status: Int, nanoseconds: Int64) {
        let key = Key(route: route, status: status)
        let counter = counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = CoreMetrics.Counter(label: "erx_http_requests_total", dimensions: [("route", route), ("status", String(status))], factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
        let timer = timers.withLock { timers in
            if let timer = timers[key] { return timer }
            let timer = CoreMetrics.Timer(label: "erx_http_request_duration_seconds", dimensions: [("route", route), ("status", String(status))], factory: factory)
            timers[key] = timer
            return timer
        }
        timer.recordNanoseconds(nanoseconds)
    }

    /// The Prometheus text exposition of everything registered (relay metrics included when they
    /// share the registry).
    func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
