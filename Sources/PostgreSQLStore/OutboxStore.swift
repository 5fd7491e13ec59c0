public import Dispensing
public import Foundation
import Logging
import PostgresNIO

extension PostgreSQLTaskStore: OutboxStore {
    /// Without a claim a plain read; with one, the read and the claim are one transaction, and the
    /// claim's `ON CONFLICT … WHERE` takes only insurants no other holder claimed meanwhile, so two
    /// relays racing for an insurant never both receive it.
    public func dueInsurants(now: Date, insurants: Int, perInsurant: Int, readyBefore: Date, excluding: Set<KVNR>,
                             claim: RelayClaim?) async throws -> DueTransfers {
        guard let claim else {
            return try await read { connection, logger in
                try await OutboxRows.dueInsurants(now: now, insurants: insurants, perInsurant: perInsurant, readyBefore: readyBefore,
                                                  excluding: excluding, holder: nil, on: connection, logger: logger)
            }
        }
        return try await write { connection, logger in
            var due = try await OutboxRows.dueInsurants(now: now, insurants: insurants, perInsurant: perInsurant, readyBefore: readyBefore,
                                                        excluding: excluding, holder: claim.holder, on: connection, logger: logger)
            let claimed = try await OutboxRows.claim(Set(due.entries.map(\.kvnr)), holder: claim.holder, now: now,
                                                     until: now.addingTimeInterval(claim.duration), on: connection, logger: logger)
            due.entries.removeAll { !claimed.contains($0.kvnr) }
            // The read ran before the claim (READ COMMITTED: each statement sees what was committed
            // when it began): another relay may have sent and settled some of these rows in between
            // and released the insurant. Only rows still pending once the claim is ours go out.
            guard !due.entries.isEmpty else { return due }
            let ids = due.entries.map(\.id)
            let pending = try await connection.rows("SELECT id FROM outbox WHERE id = ANY(\(ids)) AND state = 'pending'", logger: logger)
            let stillPending = Set(try pending.map { try $0.decode(Int64.self) })
            due.entries.removeAll { !stillPending.contains($0.id) }
            return due
        }
    }

    public func renewClaims(_ kvnrs: Set<KVNR>, claim: RelayClaim, now: Date) async throws -> Set<KVNR> {
        guard !kvnrs.isEmpty else { return [] }
        return try await write { connection, logger in
            try await OutboxRows.renewClaims(kvnrs, holder: claim.holder, until: now.addingTimeInterval(claim.duration), on: connection, logger: logger)
        }
    }

    public func releaseClaims(_ kvnrs: Set<KVNR>, holder: String) async throws {
        guard !kvnrs.isEmpty else { return }
        try await write { connection, logger in try await OutboxRows.releaseClaims(kvnrs, holder: holder, on: connection, logger: logger) }
    }

    public func settle(_ settlements: [OutboxSettlement], at now: Date) async throws {
        guard !settlements.isEmpty else { return }
        try await write { connection, logger in
            for settlement in settlements { try await OutboxRows.settle(settlement, at: now, on: connection, logger: logger) }
        }
    }

    public func outboxStatistics() async throws -> OutboxStatistics {
        try await read { connection, logger in try await OutboxRows.statistics(on: connection, logger: logger) }
    }
}

extension PostgreSQLTaskStore: DeadLetterStore {
    public func deadLetters() async throws -> [DeadLetter] {
        try await read { connection, logger in try await DeadLetterRows.deadLetters(on: connection, logger: logger) }
    }

    public func requeue(_ id: Int64, at now: Date) async throws -> RequeueOutcome {
        try await write { connection, logger in try await DeadLetterRows.requeue(id, at: now, on: connection, logger: logger) }
    }
}

extension PostgreSQLTaskStore {
    /// Whether the database answers `SELECT 1` within about a second: for `/health/ready`, which
    /// must answer fast whatever the database does. On a connection of its own, not the pool's: an
    /// instance whose every pooled connection serves a request is busy, not cut off from its
    /// database, and a balancer must not take it out for that.
    public func ping() async -> Bool {
        guard isOpen else { return false }
        var probe = PostgresConnection.Configuration(host: configuration.host, port: configuration.port, username: configuration.user,
                                                     password: configuration.password, database: configuration.database, tls: .disable)
        probe.options.connectTimeout = .seconds(1)
        let logger = database.logger
        let answered = Task { () -> Bool in
            guard let connection = try? await PostgresConnection.connect(configuration: probe, id: 0, logger: logger) else { return false }
            let ok = (try? await connection.rows("SELECT 1", logger: logger).count == 1) ?? false
            try? await connection.close()
            return ok
        }
        // At most two seconds: a server that accepts but never answers must not hold the probe.
        let timeout = Task { try? await Task.sleep(for: .seconds(2)); answered.cancel() }
        defer { timeout.cancel() }
        return await answered.value
    }

    /// Runs SQL past every check of this store: only for tests that damage rows on purpose.
    package func executeUnchecked(sql: String) async throws {
        try await write { connection, logger in _ = try await connection.rows(PostgresQuery(unsafeSQL: sql), logger: logger) }
    }

    /// The first column of each row of a query, as text: for tests that look at what no port shows.
    package func readUnchecked(sql: String) async throws -> [String?] {
        try await read { connection, logger in
            try await connection.rows(PostgresQuery(unsafeSQL: sql), logger: logger).map { row in
                let cell = row.makeRandomAccess()[0]
                guard cell.bytes != nil else { return nil }
                // postgres-nio reads any cell as a String (its raw bytes): pick by the column's type.
                switch cell.dataType {
                case .int2, .int4, .int8: return String(try cell.decode(Int64.self))
                case .float4, .float8: return "\(try cell.decode(Double.self))"
                case .bool: return try cell.decode(Bool.self) ? "1" : "0"
                default: return try cell.decode(String.self)
                }
            }
        }
    }
}
