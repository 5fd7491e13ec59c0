import Foundation
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// One thread, at a lower CPU priority, on which large bodies are parsed and validated, one after
/// the other. The handlers run on Swift's cooperative pool, which has a thread per core: three
/// large bodies validated there would hold every thread, and `/health/live` and every small
/// `$dispense` would wait behind them. On the lane they wait only for each other.
public final class LargeBodyLane: Sendable {
    /// The process's lane, started on first use and never stopped (like NIO's singleton loops).
    public static let shared = LargeBodyLane()

    private let pool: NIOThreadPool

    private init() {
        pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        #if os(Linux)
        // On Linux the nice value belongs to the thread (NPTL), and `who` 0 is the calling thread:
        // `nice` 10 for the lane's thread alone.
        pool.submit { _ in _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10) }
        #endif
    }

    /// Runs `work` on the lane and returns its result.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(work)
    }
}
