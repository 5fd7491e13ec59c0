import Foundation

/// A PostgreSQL cluster of one test's own, from `scripts/postgres-cluster.sh` with its own
/// directory and port: for a test that stops and starts the server (an outage), which the shared
/// test cluster must not suffer while other tests use it. Costs an `initdb` (a few seconds).
public struct PrivateCluster: Sendable {
    public let url: String
    public let password: String
    let directory: String
    let port: Int

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/postgres-cluster.sh").path

    /// Creates and starts it on a free port.
    public static func start() async throws -> PrivateCluster {
        let port = Int.random(in: 55_000...59_999)
        // Under /tmp, not $TMPDIR: the cluster's owner (`postgres`, when the tests run as root) must reach it.
        let directory = "/tmp/erx-pg-private-\(UUID().uuidString.prefix(8))"
        let values = variables(printedBy: try await run("start", directory: directory, port: port))
        guard let url = values["ERX_TEST_POSTGRES_URL"], let password = values["ERX_TEST_POSTGRES_PASSWORD"] else {
            throw TestPostgres.Unavailable(detail: "the private cluster printed no URL")
        }
        return PrivateCluster(url: url, password: password, directory: directory, port: port)
    }

    /// Stops the server at once (`pg_ctl -m fast`: running transactions are rolled back).
    public func stop() async throws { try await Self.run("stop", directory: directory, port: port) }

    /// Starts it again on the same data.
    public func restart() async throws { try await Self.run("start", directory: directory, port: port) }

    /// Stops it and removes its data.
    public func destroy() async { _ = try? await Self.run("destroy", directory: directory, port: port) }

    /// The `NAME=value` lines `postgres-cluster.sh start` prints.
    static func variables(printedBy output: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return values
    }

    /// The script on a Dispatch thread: `initdb` and `pg_ctl` take seconds, which must not block one
    /// of the few threads of Swift's cooperative pool that every test running meanwhile shares.
    @discardableResult
    private static func run(_ command: String, directory: String, port: Int) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try runBlocking(command, directory: directory, port: port) }) }
        }
    }

    private static func runBlocking(_ command: String, directory: String, port: Int) throws -> String {
        let finished = try ProcessLaunch.finish(URL(fileURLWithPath: "/bin/bash"), [script, command],
                                                environment: ProcessInfo.processInfo.environment.merging(["ERX_PG_DIR": directory, "ERX_PG_PORT": String(port)]) { $1 })
        guard finished.status == 0 else {
            let complaint = String(decoding: finished.error, as: UTF8.self)
            throw TestPostgres.Unavailable(detail: "postgres-cluster.sh \(command) exited \(finished.status): \(complaint.prefix(300))")
        }
        return String(decoding: finished.output, as: UTF8.self)
    }
}
