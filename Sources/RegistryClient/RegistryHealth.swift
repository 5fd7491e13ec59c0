import Synchronization

/// Whether the registry answered the last request we sent it (any answer below 500 counts: a 4xx
/// is the registry speaking). `/health/ready` shows `degraded` while it does not.
public final class RegistryHealth: Sendable {
    private let reachable = Atomic<Bool>(true)

    public init() {}

    public var isReachable: Bool { reachable.load(ordering: .relaxed) }

    func record(status: Int?) {
        reachable.store(status.map { $0 < 500 } ?? false, ordering: .relaxed)
    }
}
