public import Foundation

/// Runs child processes to their end (`ChildProcess` says why not Foundation's `Process`).
public enum ProcessLaunch {
    /// What a finished child process left: its exit status and both output streams.
    public struct Finished: Sendable {
        public var status: Int32
        public var output: Data
        public var error: Data
    }

    /// Runs `executable` to its end with `arguments` (and `environment`, else the test's own),
    /// writes `stdin` to it, and captures standard output and standard error. Input is written and
    /// the error stream read beside the output stream, so a child that fills a pipe never blocks.
    public static func finish(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
                              stdin: Data? = nil) throws -> Finished {
        let child = try ChildProcess(executable.path, arguments, environment: environment, stdin: .pipe, stdout: .pipe, stderr: .pipe)
        let errorBytes = Collected()
        let beside = DispatchGroup()
        if let input = child.input {
            DispatchQueue.global().async(group: beside) {
                if let stdin { input.write(stdin) }
                input.close()
            }
        }
        if let error = child.error {
            DispatchQueue.global().async(group: beside) { errorBytes.data = error.readToEnd() }
        }
        let output = child.output?.readToEnd() ?? Data()
        beside.wait()
        return Finished(status: child.wait(), output: output, error: errorBytes.data)
    }

    /// `openssl` from the PATH (Debian's), as a pharmacy's or billing centre's software runs it.
    public static func openssl(_ arguments: [String], stdin: Data? = nil) throws -> Finished {
        try finish(URL(fileURLWithPath: "/usr/bin/env"), ["openssl"] + arguments, stdin: stdin)
    }

    /// Written by one thread, read after it has finished (`DispatchGroup.wait`).
    private final class Collected: @unchecked Sendable {
        var data = Data()
    }
}
