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

extension ProcessLaunch {
    /// What a finished child process left: its exit status and both output streams.
    public struct Finished: Sendable {
        public var status: Int32
        public var output: Data
        public var error: Data
    }

    /// Runs `executable` to its end with `arguments` (and `environment`, else the test's own),
    /// writes `stdin` to it, and captures standard output and standard error. The error stream is
    /// read beside the output stream, so a child that fills either pipe never blocks.
    public static func finish(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
                              stdin: Data? = nil) throws -> Finished {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        let (output, error, input) = (Pipe(), Pipe(), Pipe())
        process.standardOutput = output
        process.standardError = error
        process.standardInput = input
        try run(process)
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        let errorBytes = Collected()
        let reading = DispatchGroup()
        DispatchQueue.global().async(group: reading) { errorBytes.data = error.fileHandleForReading.readDataToEndOfFile() }
        let outputBytes = output.fileHandleForReading.readDataToEndOfFile()
        reading.wait()
        process.waitUntilExit()
        return Finished(status: process.terminationStatus, output: outputBytes, error: errorBytes.data)
    }

    /// `openssl` from the PATH (Debian's), as a pharmacy's or billing centre's software runs it.
    public static func openssl(_ arguments: [String], stdin: Data? = nil) throws -> Finished {
        try finish(URL(fileURLWithPath: "/usr/bin/env"), ["openssl"] + arguments, stdin: stdin)
    }

    /// Written by one reader thread, read after it has finished (`DispatchGroup.wait`).
    private final class Collected: @unchecked Sendable {
        var data = Data()
    }
}
