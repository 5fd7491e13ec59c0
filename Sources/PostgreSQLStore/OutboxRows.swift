import Dispensing
import FHIRModel
import Foundation
import Logging
import PostgresNIO

/// The `outbox` table, its log `outbox_event` and the relay claims `outbox_claim`, with the SQLite
/// store's semantics (`SQLiteStore/RegistryRows.swift`): a row is `pending` until the relay settles
/// it; settled rows stay for the record, the payload of sent, refused and dropped rows cleared.
enum OutboxRows {
    static func insert(_ transfer: RegistryTransfer, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        let time = StoredDate.value(now)
        var bindings = PostgresBindings(capacity: 8)
        bindings.append(transfer.prescriptionID.rawValue)
        bindings.append(transfer.kvnr.rawValue)
        bindings.append(transfer.operation.rawValue)
        bindings.append(try StoredResource.value(transfer.payload))
        bindings.append(time)
        bindings.append(time)
        bindings.append(transfer.status?.rawValue)
        bindings.append(transfer.idempotencyKey)
        _ = try await connection.rows(HotPath.InsertOutbox(bindings: bindings), logger: logger)
    }

    /// See `OutboxStore.dueInsurants` and the SQLite store's query of the same name, which this one
    /// mirrors term by term: the excluded insurants are one bound array (`= ANY`), and a row is
    /// deferred exactly when `next_attempt_at > created_at` (the partial index
    /// `outbox_deferred_by_kvnr`). Only the oldest `window` eligible rows are looked at.
    static func dueInsurants(
        now: Date, insurants: Int, perInsurant: Int, readyBefore: Date, excluding: Set<KVNR>, holder: String?,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> DueTransfers {
        let window = max(1, insurants) * max(1, perInsurant) * 8
        let excluded = excluding.map(\.rawValue).sorted()
        var bindings = PostgresBindings(capacity: 7)
        bindings.append(StoredDate.value(now))
        bindings.append(excluded)
        bindings.append(StoredDate.value(readyBefore))
        bindings.append(perInsurant)
        bindings.append(insurants)
        bindings.append(window)
        bindings.append(holder)
        let sql = """
            WITH eligible AS MATERIALIZED (
                SELECT id, kvnr, created_at FROM outbox AS o
                WHERE state = 'pending' AND NOT EXISTS (
                    SELECT 1 FROM outbox AS w
                    WHERE w.kvnr = o.kvnr AND w.state = 'pending' AND w.next_attempt_at > w.created_at AND w.next_attempt_at > $1
                ) AND (kvnr IS NULL OR NOT (kvnr = ANY($2::text[])))
                AND ($7::text IS NULL OR NOT EXISTS (
                    SELECT 1 FROM outbox_claim AS c WHERE c.kvnr = o.kvnr AND c.holder <> $7::text AND c.until > $1
                ))
                ORDER BY id LIMIT $6
            ), served AS (
                SELECT kvnr FROM eligible
                GROUP BY kvnr
                HAVING MIN(created_at) <= $3 OR MAX(created_at) > $1 OR COUNT(*) >= $4
                ORDER BY MIN(id) LIMIT $5
            ), queued AS (
                SELECT id, ROW_NUMBER() OVER (PARTITION BY kvnr ORDER BY id) AS position FROM eligible
                WHERE kvnr IN (SELECT kvnr FROM served) OR (kvnr IS NULL AND EXISTS (SELECT 1 FROM served WHERE kvnr IS NULL))
            )
            SELECT o.id, o.operation, o.kvnr, o.task_id, o.status, o.idempotency_key, o.payload, o.attempts, o.created_at
            FROM queued AS q JOIN outbox AS o ON o.id = q.id
            WHERE q.position <= $4 ORDER BY o.id
            """
        return try transfers(from: await connection.rows(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger))
    }

    /// Claims `kvnrs` for `holder` until `until`, unless another holder's claim has not expired by
    /// `now`; returns the insurants the holder now claims. A claim row another transaction is
    /// writing is waited for (its unique key), then judged on what that one committed, so two
    /// relays never both claim an insurant. The KVNRs go in sorted, so two relays claiming
    /// overlapping sets lock their rows in the same order and cannot deadlock.
    static func claim(_ kvnrs: Set<KVNR>, holder: String, now: Date, until: Date, on connection: PostgresConnection, logger: Logger) async throws -> Set<KVNR> {
        guard !kvnrs.isEmpty else { return [] }
        let list = kvnrs.map(\.rawValue).sorted()
        let query: PostgresQuery = """
            INSERT INTO outbox_claim (kvnr, holder, until) SELECT k, \(holder), \(StoredDate.value(until)) FROM unnest(\(list)::text[]) AS k ORDER BY k
            ON CONFLICT (kvnr) DO UPDATE SET holder = excluded.holder, until = excluded.until
            WHERE outbox_claim.holder = excluded.holder OR outbox_claim.until <= \(StoredDate.value(now))
            RETURNING kvnr
            """
        return try await kvnrSet(connection.rows(query, logger: logger))
    }

    /// Extends only the holder's own claims; returns the insurants it still claims.
    static func renewClaims(_ kvnrs: Set<KVNR>, holder: String, until: Date, on connection: PostgresConnection, logger: Logger) async throws -> Set<KVNR> {
        let list = kvnrs.map(\.rawValue).sorted()
        let query: PostgresQuery = """
            UPDATE outbox_claim SET until = \(StoredDate.value(until)) WHERE holder = \(holder) AND kvnr = ANY(\(list)) RETURNING kvnr
            """
        return try await kvnrSet(connection.rows(query, logger: logger))
    }

    static func releaseClaims(_ kvnrs: Set<KVNR>, holder: String, on connection: PostgresConnection, logger: Logger) async throws {
        let list = kvnrs.map(\.rawValue).sorted()
        _ = try await connection.rows("DELETE FROM outbox_claim WHERE holder = \(holder) AND kvnr = ANY(\(list))", logger: logger)
    }

    private static func kvnrSet(_ rows: [PostgresRow]) throws -> Set<KVNR> {
        Set(try rows.compactMap { try RowReader($0, table: "outbox_claim").valueIfPresent("kvnr", as: String.self).flatMap(KVNR.init) })
    }

    /// Outbox rows as transfers; a row that cannot be read is reported, not thrown.
    private static func transfers(from rows: [PostgresRow]) throws -> DueTransfers {
        var due = DueTransfers(entries: [])
        for row in rows {
            let reader = RowReader(row, table: "outbox")
            // `id` is the primary key: always readable.
            let id: Int64 = try reader.value("id")
            do {
                guard let payload = try reader.bytesIfPresent("payload") else { throw reader.corrupt("payload") }
                due.entries.append(OutboxEntry(
                    id: id, operation: try reader.parsed("operation", RegistryTransfer.Operation.init(rawValue:)),
                    kvnr: try reader.parsed("kvnr", KVNR.init), prescriptionID: try reader.parsed("task_id", PrescriptionID.init),
                    status: try reader.parsedIfPresent("status", TaskStatus.init(rawValue:)), idempotencyKey: try reader.value("idempotency_key"),
                    payload: payload, attempts: try reader.value("attempts"), createdAt: try reader.date("created_at")
                ))
            } catch let PostgreSQLStoreError.corruptRow(_, column) {
                due.unreadable.append(UnreadableTransfer(id: id, reason: "unreadable outbox row: column \(column)"))
            }
        }
        return due
    }

    static func settle(_ settlement: OutboxSettlement, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        let time = StoredDate.value(now)
        switch settlement {
        case .sent(let id):
            // The row itself records it (state, settled_at); the log keeps the exceptions.
            let settled = try await connection.rows("""
                UPDATE outbox SET state = 'sent', payload = NULL, settled_at = \(time) WHERE id = \(id) AND state = 'pending'
                RETURNING task_id, kvnr, operation
                """, logger: logger)
            try await auditOutcome(of: settled, failed: false, at: now, on: connection, logger: logger)
        case let .refused(id, reason):
            let settled = try await connection.rows("""
                UPDATE outbox SET state = 'refused', payload = NULL, last_error = \(reason), settled_at = \(time)
                WHERE id = \(id) AND state = 'pending' RETURNING task_id, kvnr, operation
                """, logger: logger)
            try await auditOutcome(of: settled, failed: true, at: now, on: connection, logger: logger)
            try await log(outboxID: id, kvnr: nil, "refused", reason, time, on: connection, logger: logger)
        case let .retry(id, at, reason):
            _ = try await connection.rows("""
                UPDATE outbox SET attempts = attempts + 1, next_attempt_at = \(StoredDate.value(at)), last_error = \(reason)
                WHERE id = \(id) AND state = 'pending'
                """, logger: logger)
            try await log(outboxID: id, kvnr: nil, "retry", reason, time, on: connection, logger: logger)
        case let .deadLetter(id, reason):
            let settled = try await connection.rows("""
                UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = \(reason), settled_at = \(time)
                WHERE id = \(id) AND state = 'pending' RETURNING task_id, kvnr, operation
                """, logger: logger)
            try await auditOutcome(of: settled, failed: true, at: now, on: connection, logger: logger)
            try await log(outboxID: id, kvnr: nil, "dead", reason, time, on: connection, logger: logger)
        case let .pause(kvnr, until, reason):
            _ = try await connection.rows("""
                UPDATE outbox SET next_attempt_at = GREATEST(next_attempt_at, \(StoredDate.value(until))), last_error = \(reason)
                WHERE kvnr = \(kvnr.rawValue) AND state = 'pending'
                """, logger: logger)
            try await log(outboxID: nil, kvnr: kvnr, "paused", reason, time, on: connection, logger: logger)
        case let .drop(kvnr, through, reason, objection):
            if let objection { try await ObjectionRows.upsert(objection, on: connection, logger: logger) }
            let dropped = try await connection.rows("""
                UPDATE outbox SET state = 'dropped', payload = NULL, last_error = \(reason), settled_at = \(time)
                WHERE kvnr = \(kvnr.rawValue) AND state = 'pending' AND id <= \(through) RETURNING id
                """, logger: logger)
            try await log(outboxID: nil, kvnr: kvnr, "dropped \(dropped.count)", reason, time, on: connection, logger: logger)
        }
    }

    /// The insurant's audit entry for a transfer just settled (A_25962), from the settled row (none
    /// when the row was not pending). A row whose operation or ids this version cannot read gets
    /// none: it is a dead letter for an operator, not an event.
    private static func auditOutcome(of settled: [PostgresRow], failed: Bool, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        guard let row = settled.first else { return }
        let reader = RowReader(row, table: "outbox")
        guard let operation = try? reader.parsed("operation", RegistryTransfer.Operation.init(rawValue:)),
              let prescriptionID = try? reader.parsed("task_id", PrescriptionID.init)
        else { return }
        let kvnr = (try? reader.valueIfPresent("kvnr", as: String.self))?.flatMap(KVNR.init)
        try await AuditRows.insert(.registry(operation, prescriptionID: prescriptionID, kvnr: kvnr, failed: failed, recorded: now),
                                   on: connection, logger: logger)
    }

    static func statistics(on connection: PostgresConnection, logger: Logger) async throws -> OutboxStatistics {
        let rows = try await connection.rows("""
            SELECT (SELECT COUNT(*) FROM outbox WHERE state = 'pending') AS pending,
                   (SELECT MIN(created_at) FROM outbox WHERE state = 'pending') AS oldest,
                   (SELECT COUNT(*) FROM outbox WHERE state = 'dead') AS dead
            """, logger: logger)
        let reader = RowReader(try rows.first ?? { throw PostgreSQLStoreError.corruptRow(table: "outbox", column: "count") }(), table: "outbox")
        return OutboxStatistics(pending: Int(try reader.value("pending", as: Int64.self)), oldestPending: try reader.dateIfPresent("oldest"),
                                dead: Int(try reader.value("dead", as: Int64.self)))
    }

    static func log(outboxID: Int64?, kvnr: KVNR?, _ outcome: String, _ detail: String?, _ time: Double,
                    on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.rows("""
            INSERT INTO outbox_event (outbox_id, kvnr, outcome, detail, recorded)
            VALUES (\(outboxID)::bigint, \(kvnr?.rawValue)::text, \(outcome), \(detail)::text, \(time))
            """, logger: logger)
    }
}
