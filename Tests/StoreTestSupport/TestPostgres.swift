import Foundation
public import Logging
import PostgresNIO
public import PostgreSQLStore
import Synchronization

/// Where the PostgreSQL store tests get a database: `ERX_TEST_POSTGRES_URL` (and
/// `ERX_TEST_POSTGRES_PASSWORD`) when set, else the throwaway cluster of
/// `scripts/postgres-cluster.sh`, started once per test process. Each test gets a database of its
/// own (`erx_t_<random>`), created on that server and dropped afterwards, so tests run in parallel
/// and never see each other's rows.
///
/// Without PostgreSQL the PostgreSQL cases fail with ``Unavailable`` and say how to get it: a
/// store test that passes silently without running would prove nothing.
public enum TestPostgres {
    public static let logger = Logger(label: "erx.test.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Why no test server could be had.
    public struct Unavailable: Error, Sendable, CustomStringConvertible {
        public var detail: String
        public var description: String {
            "PostgreSQL store tests need a server: install postgresql (apt-get install postgresql) or set ERX_TEST_POSTGRES_URL (\(detail))"
        }
    }

    /// The server's URL (the `erx` database, which only serves to create the tests' own).
    public static func url() async throws -> String { try await environment().get().url }

    public static func password() async throws -> String? { try await environment().get().password }

    /// The configuration of the test server's `erx` database.
    public static func configuration() async throws -> PostgreSQLStoreConfiguration {
        var configuration = try await PostgreSQLStoreConfiguration(url: url(), password: password())
        configuration.maximumConnections = 4
        // Generous bounds: the tests check what the store does, not how fast two busy cores are
        // (CI runs every suite at once); the tests of the bounds set their own.
        configuration.connectTimeout = .seconds(30)
        configuration.queryTimeout = .seconds(60)
        return configuration
    }

    /// Creates a database of its own for one test: its configuration, and `drop`, which removes it
    /// (closing whatever connections are left).
    public static func freshDatabase() async throws -> (configuration: PostgreSQLStoreConfiguration, drop: @Sendable () async -> Void) {
        let server = try await configuration()
        let name = "erx_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        // A database name cannot be bound: it is made of hex digits here, nothing to quote.
        try await administer(server, sql: "CREATE DATABASE \(name)")
        var configuration = server
        configuration.database = name
        return (configuration, { try? await administer(server, sql: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") })
    }

    /// `body` on a fresh database, dropped afterwards whatever `body` does.
    public static func withFreshDatabase<Result>(_ body: (PostgreSQLStoreConfiguration) async throws -> Result) async throws -> Result {
        let (configuration, drop) = try await freshDatabase()
        do {
            let result = try await body(configuration)
            await drop()
            return result
        } catch {
            await drop()
            throw error
        }
    }

    /// Runs one statement on the server's `erx` database over a connection of its own.
    public static func administer(_ server: PostgreSQLStoreConfiguration, sql: String) async throws {
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: server.host, port: server.port, username: server.user, password: server.password,
                                 database: server.database, tls: .disable),
            id: 1, logger: logger
        )
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }

    private typealias Environment = Result<(url: String, password: String?), Unavailable>

    /// Resolved once per process. The script runs on a Dispatch thread, not on one of the few
    /// threads of Swift's cooperative pool, which tests running in parallel must not find blocked.
    private static let resolution = Mutex<Task<Environment, Never>?>(nil)

    private static func environment() async -> Environment {
        let task = resolution.withLock { task in
            if let task { return task }
            let started = Task<Environment, Never> {
                let variables = ProcessInfo.processInfo.environment
                if let url = variables["ERX_TEST_POSTGRES_URL"], !url.isEmpty {
                    return .success((url, variables["ERX_TEST_POSTGRES_PASSWORD"]))
                }
                return await withCheckedContinuation { continuation in
                    DispatchQueue.global().async { continuation.resume(returning: startCluster()) }
                }
            }
            task = started
            return started
        }
        return await task.value
    }

    /// Runs `scripts/postgres-cluster.sh start` (found from this file's path) and reads the
    /// variables it prints.
    private static func startCluster() -> Environment {
        let script = PrivateCluster.script
        let finished: ProcessLaunch.Finished
        do {
            finished = try ProcessLaunch.finish(URL(fileURLWithPath: "/bin/bash"), [script, "start"])
        } catch {
            return .failure(Unavailable(detail: "cannot run \(script): \(error)"))
        }
        let values = PrivateCluster.variables(printedBy: String(decoding: finished.output, as: UTF8.self))
        guard finished.status == 0, let url = values["ERX_TEST_POSTGRES_URL"] else {
            let reason = String(decoding: finished.error, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return .failure(Unavailable(detail: "scripts/postgres-cluster.sh start exited \(finished.status): \(reason.prefix(300))"))
        }
        return .success((url, values["ERX_TEST_POSTGRES_PASSWORD"]))
    }
}
