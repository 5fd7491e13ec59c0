public import Dispensing
public import Foundation
public import Logging
import PostgresNIO
import Synchronization

/// The `TaskStore` for several erx instances on one database: PostgreSQL through postgres-nio's
/// pooled `PostgresClient`, one transaction per operation.
///
/// `update` is the port's row lock: `SELECT … FOR UPDATE` on the task, `decide` on that row (its
/// snapshot reads fetched on demand, see ``SnapshotReads``), then the change written and committed;
/// another `update` of the same task waits for the lock and decides on what this one wrote.
///
/// Every operation is bounded (``PostgreSQLStoreConfiguration/connectTimeout`` for a connection,
/// ``PostgreSQLStoreConfiguration/queryTimeout`` for its statements), and a server that cannot be
/// reached, went away or did not answer in time is `StoreUnavailable`, which the server answers
/// with 503; nothing of such an operation was committed, except when the connection was lost
/// during `COMMIT` itself, which no client can tell.
public final class PostgreSQLTaskStore: TaskStore, Sendable {
    let database: Database
    private let runner: Mutex<Task<Void, Never>?>
    /// Where `ping` connects: on a connection of its own, not one of the pool's, so an instance
    /// whose pool is busy with requests is not reported down.
    let configuration: PostgreSQLStoreConfiguration

    private init(database: Database, runner: Task<Void, Never>, configuration: PostgreSQLStoreConfiguration) {
        self.database = database
        self.runner = Mutex(runner)
        self.configuration = configuration
    }

    /// Connects, waits until the database answers (at most `connectTimeout`), and migrates it to
    /// this build's schema; with `migrating: false` refuses instead a database whose schema is not
    /// exactly this build's (for tools beside a server of maybe another version).
    ///
    /// Throws `StoreUnavailable` when the server does not answer in time, and
    /// ``PostgreSQLStoreError/server(sqlState:)`` when it refuses us (`28P01` a wrong password,
    /// `3D000` no such database).
    public static func open(_ configuration: PostgreSQLStoreConfiguration, logger: Logger, migrating: Bool = true) async throws -> PostgreSQLTaskStore {
        try await waitUntilReachable(configuration, logger: logger)
        var client = PostgresClient.Configuration(host: configuration.host, port: configuration.port, username: configuration.user,
                                                  password: configuration.password, database: configuration.database, tls: .disable)
        client.options.maximumConnections = max(1, configuration.maximumConnections)
        client.options.connectTimeout = configuration.connectTimeout
        client.options.additionalStartupParameters = startupParameters(configuration)
        let postgres = PostgresClient(configuration: client, backgroundLogger: logger)
        let runner = Task { await postgres.run() }
        let store = PostgreSQLTaskStore(
            database: Database(client: postgres, connectTimeout: configuration.connectTimeout, queryTimeout: configuration.queryTimeout, logger: logger),
            runner: runner, configuration: configuration
        )
        do {
            if migrating {
                let migrating = Database(client: store.database.client, connectTimeout: store.database.connectTimeout,
                                         queryTimeout: Schema.migrationTimeout, logger: logger)
                try await migrating.transaction { connection in try await Schema.migrate(on: connection, logger: logger) }
            } else {
                try await store.database.withConnection { connection in try await Schema.check(on: connection, logger: logger) }
            }
        } catch {
            await store.close()
            throw error
        }
        logger.info("PostgreSQL store: open", metadata: ["database": "\(configuration)"])
        return store
    }

    /// The server's own bounds, sent at connection start: a statement (a lock wait included) is
    /// cancelled past `queryTimeout`, and a transaction left idle by a vanished client is ended.
    private static func startupParameters(_ configuration: PostgreSQLStoreConfiguration) -> [(String, String)] {
        let milliseconds = max(1, Int(configuration.queryTimeout.components.seconds * 1000
            + configuration.queryTimeout.components.attoseconds / 1_000_000_000_000_000))
        return [
            ("statement_timeout", "\(milliseconds)"),
            ("idle_in_transaction_session_timeout", "\(milliseconds * 2)"),
            ("application_name", "erx"),
        ]
    }

    /// Tries single connections until one succeeds, within `connectTimeout`: the pool would retry
    /// a refused connection silently, and report a wrong password only as a timeout. The attempts
    /// race the deadline, which cancels the one under way.
    private static func waitUntilReachable(_ configuration: PostgreSQLStoreConfiguration, logger: Logger) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var probe = PostgresConnection.Configuration(host: configuration.host, port: configuration.port, username: configuration.user,
                                                             password: configuration.password, database: configuration.database, tls: .disable)
                let bound = configuration.connectTimeout.components
                probe.options.connectTimeout = .nanoseconds(max(1, bound.seconds * 1_000_000_000 + bound.attoseconds / 1_000_000_000))
                while true {
                    do {
                        let connection = try await PostgresConnection.connect(configuration: probe, id: 0, logger: logger)
                        try? await connection.close()
                        return
                    } catch let error as PSQLError where error.code == .server {
                        // A refusal that lasts (a wrong password, no such database) ends the start at
                        // once; a server starting up or out of connections is waited for.
                        let mapped = Database.mapped(error, deadline: nil)
                        guard mapped is StoreUnavailable else { throw mapped }
                        try await Task.sleep(for: .milliseconds(200))
                    } catch {
                        try await Task.sleep(for: .milliseconds(200))
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: configuration.connectTimeout)
                throw StoreUnavailable(reason: "connect timeout")
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Stops the pool: running operations fail, later ones throw. Idempotent.
    public func close() async {
        guard let runner = runner.withLock({ task -> Task<Void, Never>? in
            defer { task = nil }
            return task
        }) else { return }
        runner.cancel()
        await runner.value
    }

    var isOpen: Bool { runner.withLock { $0 != nil } }

    public func insert(_ task: PrescriptionTask, audit: AuditEntry) async throws -> Bool {
        try await write { connection, logger in
            guard try await TaskRows.insert(task, on: connection, logger: logger) else { return false }
            try await AuditRows.insert(audit, on: connection, logger: logger)
            return true
        }
    }

    public func update<Outcome: Sendable>(
        _ id: PrescriptionID,
        _ decide: @escaping @Sendable (TaskSnapshot) throws -> (TaskChange, Outcome)
    ) async throws -> Outcome {
        try await write { connection, logger in
            guard let task = try await TaskRows.fetch(id, forUpdate: true, on: connection, logger: logger) else {
                throw DispensingError.taskNotFound
            }
            var reads = SnapshotReads()
            for _ in 0..<SnapshotReads.maximumRuns {
                let decided: (TaskChange, Outcome)
                do {
                    decided = try decide(reads.snapshot(of: task))
                } catch let needed as SnapshotReads.NeedsRead {
                    try await reads.fetch(needed.read, of: id, on: connection, logger: logger)
                    continue
                }
                let (change, outcome) = decided
                guard change.task.id == id else { throw PostgreSQLStoreError.changeOfAnotherTask }
                try await TaskRows.update(change.task, replacing: task, on: connection, logger: logger)
                try await DispensationRows.apply(change.dispensations, of: change.task, on: connection, logger: logger)
                if change.deleteCommunications { try await CommunicationRows.deleteAll(of: id, on: connection, logger: logger) }
                try await AuditRows.insert(change.audit, on: connection, logger: logger)
                if let transfer = change.transfer {
                    try await OutboxRows.insert(transfer, at: change.audit.recorded, on: connection, logger: logger)
                }
                try await WebhookRows.enqueue(change.events, at: change.audit.recorded, on: connection, logger: logger)
                if let copy = change.carbonCopy {
                    try await CarbonCopyRows.insert(copy, at: change.audit.recorded, on: connection, logger: logger)
                }
                return outcome
            }
            throw PostgreSQLStoreError.tooManyReads
        }
    }

    public func task(_ id: PrescriptionID) async throws -> PrescriptionTask? {
        try await read { connection, logger in try await TaskRows.fetch(id, on: connection, logger: logger) }
    }

    public func tasks(of kvnr: KVNR) async throws -> [PrescriptionTask] {
        try await read { connection, logger in try await TaskRows.fetchAll(of: kvnr, on: connection, logger: logger) }
    }

    public func dispensations(of id: PrescriptionID) async throws -> [Dispensation] {
        try await read { connection, logger in try await DispensationRows.fetchAll(of: id, on: connection, logger: logger) }
    }

    public func dispensationSets(of kvnr: KVNR) async throws -> [DispensationSet] {
        try await read { connection, logger in try await DispensationRows.sets(of: kvnr, on: connection, logger: logger) }
    }

    public func auditTrail(of id: PrescriptionID) async throws -> [AuditEntry] {
        try await read { connection, logger in try await AuditRows.fetchAll(of: id, on: connection, logger: logger) }
    }

    public func record(_ audit: [AuditEntry]) async throws {
        guard !audit.isEmpty else { return }
        try await write { connection, logger in
            for entry in audit { try await AuditRows.insert(entry, on: connection, logger: logger) }
        }
    }

    public func auditEntries(of kvnr: KVNR) async throws -> [StoredAuditEntry] {
        try await read { connection, logger in try await AuditRows.fetchAll(of: kvnr, on: connection, logger: logger) }
    }

    public func auditEntry(_ id: String, of kvnr: KVNR) async throws -> StoredAuditEntry? {
        try await read { connection, logger in try await AuditRows.fetch(id, of: kvnr, on: connection, logger: logger) }
    }

    public func objections(of kvnr: KVNR) async throws -> [Objection] {
        try await read { connection, logger in try await ObjectionRows.fetchAll(of: kvnr, on: connection, logger: logger) }
    }

    public func objections(of kvnrs: Set<KVNR>) async throws -> [KVNR: [Objection]] {
        guard !kvnrs.isEmpty else { return [:] }
        return try await read { connection, logger in try await ObjectionRows.fetchAll(of: kvnrs, on: connection, logger: logger) }
    }

    public func record(_ objection: Objection) async throws {
        try await write { connection, logger in try await ObjectionRows.upsert(objection, on: connection, logger: logger) }
    }

    @discardableResult
    public func liftObjections(of kvnr: KVNR, sources: Set<ObjectionSource>, category: ObjectionCategory?, recordedBefore: Date?) async throws -> Int {
        guard !sources.isEmpty else { return 0 }
        return try await write { connection, logger in
            try await ObjectionRows.delete(of: kvnr, sources: sources, category: category, recordedBefore: recordedBefore, on: connection, logger: logger)
        }
    }

    /// `body` on a connection of the pool, outside a transaction (each statement is its own).
    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) async throws -> T {
        guard isOpen else { throw PostgreSQLStoreError.closed }
        let logger = database.logger
        return try await database.withConnection { connection in try await body(connection, logger) }
    }

    /// `body` in one transaction.
    func write<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) async throws -> T {
        guard isOpen else { throw PostgreSQLStoreError.closed }
        let logger = database.logger
        return try await database.transaction { connection in try await body(connection, logger) }
    }
}
