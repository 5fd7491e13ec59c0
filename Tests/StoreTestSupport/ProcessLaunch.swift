public import Foundation

/// Starts child processes one at a time. Foundation's `Process.run()` on Linux crashed once in a
/// full run (a bad read inside `run()` while several suites started `erx`, `openssl` and
/// `pg_ctl` at the same moment); launching is a few milliseconds, so serialising it costs nothing
/// and the children still run concurrently.
public enum ProcessLaunch {
    private static let lock = NSLock()

    public static func run(_ process: Process) throws {
        lock.lock()
        defer { lock.unlock() }
        try process.run()
    }
}
