import Dispensing
import Logging
import PostgresNIO
import Synchronization

/// The pooled client and the bounds every operation runs within: the one place that talks to
/// postgres-nio's connections, so every wait is bounded and every failure mapped the same way.
///
/// postgres-nio's pool waits for a connection as long as it takes (it keeps reconnecting to a
/// server that is down), and a query on a connection whose server vanished waits for TCP to give
/// up. So each operation races a deadline: `connectTimeout` for a connection (the lease is
/// cancelled), then `queryTimeout` for its statements: the server's `statement_timeout` cancels a
/// slow one, and a server that does not answer at all is cut off a ``grace(_:)`` later by closing
/// the connection, which fails its statements and makes the pool drop it.
struct Database: Sendable {
    let client: PostgresClient
    let connectTimeout: Duration
    let queryTimeout: Duration
    let logger: Logger

    /// Runs `body` in one transaction on a connection of the pool: `COMMIT` when it returns,
    /// `ROLLBACK` when it throws (its error comes back unchanged, but for the mapping of
    /// connection failures to `StoreUnavailable`).
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = self.logger
        return try await run { connection, expired in
            _ = try await connection.rows("BEGIN", logger: logger)
            do {
                let value = try await body(connection)
                // Past its deadline the caller has been (or is being) answered 503: what it was
                // answered must be what happened, so nothing commits then.
                if let reason = expired() { throw StoreUnavailable(reason: reason) }
                _ = try await connection.rows("COMMIT", logger: logger)
                return value
            } catch {
                do {
                    // A connection closed under it (lost, or ended by the deadline) has nothing to roll back.
                    if !connection.isClosed { _ = try await connection.rows("ROLLBACK", logger: logger) }
                } catch {
                    // A connection that cannot even roll back must not go back to the pool mid-transaction.
                    try? await connection.close()
                }
                throw error
            }
        }
    }

    /// Runs `body` on a connection of the pool (reads: each statement its own transaction).
    ///
    /// The operation runs in a task of its own, watched by a second one: past the deadline the
    /// watchdog cancels the lease or closes the connection, gives the operation a moment to end
    /// with the error that causes (its own result still wins), and then answers the caller
    /// `StoreUnavailable` whatever the operation does: a caller never waits on a statement the
    /// driver fails to end.
    ///
    /// A caller's cancellation does not withdraw the operation (as SQLite's writer never withdraws
    /// a submitted write): the relay, stopping, still settles what the registry answered and gives
    /// up its claims; the deadline bounds the operation all the same.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await run { connection, _ in try await body(connection) }
    }

    /// ``withConnection(_:)``, with `body` told whether the deadline has passed (and why).
    private func run<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection, _ expired: @escaping @Sendable () -> String?) async throws -> T
    ) async throws -> T {
        let state = OperationState<T>()
        let client = self.client
        let operation = Task<T, any Error> {
            try await client.withConnection { connection in
                // A connection handed out just after the watchdog gave up comes too late: the caller
                // has its 503 and nothing may happen on its behalf.
                if let reason = state.withLock({ state -> String? in
                    state.connection = connection
                    state.since = .now
                    return state.deadline
                }) { throw StoreUnavailable(reason: reason) }
                defer { state.withLock { $0.connection = nil } }
                return try await body(connection) { state.withLock { $0.deadline } }
            }
        }
        let (connectTimeout, queryTimeout) = (self.connectTimeout, self.queryTimeout)
        let watchdog = Task {
            do {
                try await Task.sleep(for: connectTimeout)
                var reason = "connect timeout"
                if let since = state.withLock({ $0.since }) {
                    try await Task.sleep(until: since + queryTimeout + Self.grace(queryTimeout))
                    reason = "query timeout"
                }
                let connection = state.withLock { $0.deadline = reason; return $0.connection }
                operation.cancel()
                if let connection { try? await connection.close() }
                try await Task.sleep(for: .seconds(1))
                state.answer(.failure(StoreUnavailable(reason: reason)))
            } catch {
                // Cancelled: the operation answered first.
            }
        }
        defer { watchdog.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            state.wait(continuation)
            Task {
                let result = await operation.result
                state.answer(result.mapError { Self.mapped($0, deadline: state.withLock { $0.deadline }) })
            }
        }
    }

    /// How much longer than `statement_timeout` the client waits before it closes the connection:
    /// a statement that is merely slow is cancelled by the server, whose error leaves the connection
    /// usable; only a server that does not answer at all is cut off.
    static func grace(_ queryTimeout: Duration) -> Duration {
        max(.seconds(1), queryTimeout / 2)
    }

    /// One operation's connection (once leased), the deadline that ended it, and its caller,
    /// answered once: by the operation's result or by the watchdog, whichever comes first.
    private final class OperationState<T: Sendable>: Sendable {
        struct State {
            var connection: PostgresConnection?
            var since: ContinuousClock.Instant?
            var deadline: String?
            var caller: CheckedContinuation<T, any Error>?
            var answer: Result<T, any Error>?
        }

        private let state = Mutex(State())

        func withLock<R>(_ body: (inout State) -> R) -> R { state.withLock { body(&$0) } }

        func wait(_ continuation: CheckedContinuation<T, any Error>) {
            let early = state.withLock { state -> Result<T, any Error>? in
                if state.answer == nil { state.caller = continuation }
                return state.answer
            }
            if let early { continuation.resume(with: early) }
        }

        func answer(_ result: Result<T, any Error>) {
            let caller = state.withLock { state -> CheckedContinuation<T, any Error>? in
                guard state.answer == nil else { return nil }
                state.answer = result
                defer { state.caller = nil }
                return state.caller
            }
            caller?.resume(with: result)
        }
    }

    /// Connection failures and timeouts as `StoreUnavailable`; the server's refusals as
    /// ``PostgreSQLStoreError/server(sqlState:)`` (never its message, which may quote a row); any
    /// other error (a rule's, the store's own) unchanged.
    static func mapped(_ error: any Error, deadline: String?) -> any Error {
        // The pool reports a cancelled lease as its `ConnectionPoolError` (of an underscored module
        // this target does not import), so that one is known by its name.
        let endedByDeadline = error is CancellationError || (error as? PSQLError).map(isConnectionLoss) == true
            || String(reflecting: type(of: error)).hasSuffix(".ConnectionPoolError")
        if let deadline, endedByDeadline { return StoreUnavailable(reason: deadline) }
        if String(reflecting: type(of: error)).hasSuffix(".ConnectionPoolError") { return StoreUnavailable(reason: "connection pool closed") }
        guard let error = error as? PSQLError else { return error }
        if isConnectionLoss(error) { return StoreUnavailable(reason: "connection lost") }
        guard error.code == .server else { return PostgreSQLStoreError.server(sqlState: "client: \(error.code)") }
        let state = error.serverInfo?[.sqlState] ?? "?????"
        switch state {
        case "57014": return StoreUnavailable(reason: "query timeout")
        case "55P03": return StoreUnavailable(reason: "lock timeout")
        case "40001", "40P01": return StoreUnavailable(reason: "transaction conflict (SQLSTATE \(state))")
        case "57P01", "57P02", "57P03", "53300", "53400": return StoreUnavailable(reason: "server unavailable (SQLSTATE \(state))")
        default:
            if state.hasPrefix("08") { return StoreUnavailable(reason: "connection failure (SQLSTATE \(state))") }
            return PostgreSQLStoreError.server(sqlState: state)
        }
    }

    private static func isConnectionLoss(_ error: PSQLError) -> Bool {
        [.connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
         .sslUnsupported, .failedToAddSSLHandler, .queryCancelled].contains(error.code)
    }
}

extension PostgresConnection {
    /// All rows of `query`, collected (the store's results are a few rows, never a stream).
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await self.query(query, logger: logger).collect()
    }
}
