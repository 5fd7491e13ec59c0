import Dispensing
import FHIRModel
import Foundation
import GRDB

/// The `objection` table: one row per objection, keyed by insurant, source and category.
enum ObjectionRows {
    static func fetchAll(of kvnr: KVNR, in db: Database) throws -> [Objection] {
        let statement = try db.cachedStatement(sql: "SELECT kvnr, source, category, since FROM objection WHERE kvnr = ? ORDER BY since")
        return try Row.fetchAll(statement, arguments: [kvnr.rawValue]).map(objection(from:))
    }

    /// Several insurants' objections in one statement: the KVNRs go in as one JSON array, so the
    /// statement is the same (and cached) whatever their number, and each is a primary-key lookup.
    static func fetchAll(of kvnrs: Set<KVNR>, in db: Database) throws -> [KVNR: [Objection]] {
        let statement = try db.cachedStatement(sql: """
            SELECT kvnr, source, category, since FROM objection
            WHERE kvnr IN (SELECT value FROM json_each(?)) ORDER BY kvnr, since
            """)
        // KVNRs are `[A-Z][0-9]{9}`: nothing in them needs JSON escaping.
        let list = "[" + kvnrs.map { "\"\($0.rawValue)\"" }.joined(separator: ",") + "]"
        return try Dictionary(grouping: Row.fetchAll(statement, arguments: [list]).map(objection(from:)), by: \.kvnr)
    }

    private static func objection(from row: Row) throws -> Objection {
        let reader = RowReader(row: row, table: "objection")
        return Objection(
            kvnr: try reader.parsed("kvnr", KVNR.init), category: try reader.parsed("category", ObjectionCategory.init(rawValue:)),
            source: try reader.parsed("source", ObjectionSource.init(rawValue:)), since: try reader.date("since")
        )
    }

    static func upsert(_ objection: Objection, in db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO objection (kvnr, source, category, since) VALUES (?, ?, ?, ?)")
            .execute(arguments: [objection.kvnr.rawValue, objection.source.rawValue, objection.category.rawValue, StoredDate.value(objection.since)])
    }

    static func delete(of kvnr: KVNR, sources: Set<ObjectionSource>, category: ObjectionCategory?, recordedBefore: Date?, in db: Database) throws -> Int {
        var deleted = 0
        // `since < +inf` when no bound is given, so one statement serves both.
        let bound = recordedBefore.map(StoredDate.value) ?? .infinity
        for source in sources.sorted(by: { $0.rawValue < $1.rawValue }) {
            if let category {
                try db.cachedStatement(sql: "DELETE FROM objection WHERE kvnr = ? AND source = ? AND category = ? AND since < ?")
                    .execute(arguments: [kvnr.rawValue, source.rawValue, category.rawValue, bound])
            } else {
                try db.cachedStatement(sql: "DELETE FROM objection WHERE kvnr = ? AND source = ? AND since < ?")
                    .execute(arguments: [kvnr.rawValue, source.rawValue, bound])
            }
            deleted += db.changesCount
        }
        return deleted
    }
}

/// The `outbox` table and its log, `outbox_event`. A row is `pending` until the relay settles it
/// as `sent`, `dead` or `dropped`; settled rows stay for the record, but the payload (personal
/// data) of sent and dropped rows is cleared, since nobody needs it any more.
enum OutboxRows {
    static func insert(_ transfer: RegistryTransfer, at now: Date, in db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO outbox (task_id, kvnr, operation, payload, created_at, next_attempt_at, status, idempotency_key)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: arguments([
                transfer.prescriptionID.rawValue, transfer.kvnr.rawValue, transfer.operation.rawValue,
                try StoredResource.value(transfer.payload), StoredDate.value(now), StoredDate.value(now),
                transfer.status?.rawValue, transfer.idempotencyKey,
            ]))
    }

    /// The pending transfers of the `insurants` insurants whose oldest pending transfer is oldest,
    /// up to `perInsurant` each, in write order, skipping every insurant that has a pending row not
    /// yet due or is excluded, and those whose oldest pending transfer was written after
    /// `readyBefore` while they have fewer than `perInsurant` pending. See `OutboxStore.dueInsurants`.
    ///
    /// A row is due when written (`next_attempt_at = created_at`) until a retry or a pause defers
    /// it; the `next_attempt_at > created_at` term names exactly those deferred rows, so the
    /// subquery reads the small partial index `outbox_deferred_by_kvnr` (schema v4). The excluded
    /// insurants go in as one JSON array, as in `ObjectionRows.fetchAll(of:in:)` for several insurants.
    ///
    /// Only the oldest eligible rows are looked at, a few calls' worth per place (`window`): the
    /// pending index yields them in id order and the scan stops there, so after an outage with
    /// millions of pending rows a read costs what it costs with a few hundred. The counts behind
    /// the hold are taken within that window. A row written "after now" (the clock stepped back)
    /// does not hold its insurant.
    ///
    /// With a claim (`holder` given), insurants claimed by another holder until after now are
    /// skipped like excluded ones (`outbox_claim` holds only the insurants being served, so the
    /// lookup is a primary-key probe into a small table); the caller claims what it gets.
    static func dueInsurants(
        now: Date, insurants: Int, perInsurant: Int, readyBefore: Date, excluding: Set<KVNR>, holder: String?, in db: Database
    ) throws -> DueTransfers {
        let statement = try db.cachedStatement(sql: """
            WITH eligible AS MATERIALIZED (
                SELECT id, kvnr, created_at FROM outbox AS o
                WHERE state = 'pending' AND NOT EXISTS (
                    SELECT 1 FROM outbox AS w
                    WHERE w.kvnr = o.kvnr AND w.state = 'pending' AND w.next_attempt_at > w.created_at AND w.next_attempt_at > ?1
                ) AND (kvnr IS NULL OR kvnr NOT IN (SELECT value FROM json_each(?2)))
                AND (?7 IS NULL OR NOT EXISTS (
                    SELECT 1 FROM outbox_claim AS c WHERE c.kvnr = o.kvnr AND c.holder <> ?7 AND c.until > ?1
                ))
                ORDER BY id LIMIT ?6
            ), served AS (
                SELECT kvnr FROM eligible
                GROUP BY kvnr
                HAVING MIN(created_at) <= ?3 OR MAX(created_at) > ?1 OR COUNT(*) >= ?4
                ORDER BY MIN(id) LIMIT ?5
            ), queued AS (
                SELECT id, ROW_NUMBER() OVER (PARTITION BY kvnr ORDER BY id) AS position FROM eligible
                WHERE kvnr IN (SELECT kvnr FROM served) OR (kvnr IS NULL AND EXISTS (SELECT 1 FROM served WHERE kvnr IS NULL))
            )
            SELECT o.id, o.operation, o.kvnr, o.task_id, o.status, o.idempotency_key, o.payload, o.attempts, o.created_at
            FROM queued AS q JOIN outbox AS o ON o.id = q.id
            WHERE q.position <= ?4 ORDER BY o.id
            """)
        let window = max(1, insurants) * max(1, perInsurant) * 8
        return try transfers(from: Row.fetchAll(statement, arguments: [
            StoredDate.value(now), jsonArray(excluding), StoredDate.value(readyBefore), perInsurant, insurants, window, holder,
        ]))
    }

    /// Claims `kvnrs` for `holder` until `until`, unless another holder's claim has not expired by
    /// `now`; returns the insurants the holder now claims.
    @discardableResult
    static func claim(_ kvnrs: Set<KVNR>, holder: String, now: Date, until: Date, in db: Database) throws -> Set<KVNR> {
        guard !kvnrs.isEmpty else { return [] }
        let statement = try db.cachedStatement(sql: """
            INSERT INTO outbox_claim (kvnr, holder, until) SELECT value, ?2, ?3 FROM json_each(?1) WHERE true
            ON CONFLICT (kvnr) DO UPDATE SET holder = excluded.holder, until = excluded.until
            WHERE outbox_claim.holder = excluded.holder OR outbox_claim.until <= ?4
            RETURNING kvnr
            """)
        let claimed = try String.fetchAll(statement, arguments: [jsonArray(kvnrs), holder, StoredDate.value(until), StoredDate.value(now)])
        return Set(claimed.compactMap(KVNR.init))
    }

    /// Extends only the holder's own claims; returns the insurants it still claims.
    static func renewClaims(_ kvnrs: Set<KVNR>, holder: String, until: Date, in db: Database) throws -> Set<KVNR> {
        guard !kvnrs.isEmpty else { return [] }
        let statement = try db.cachedStatement(sql: """
            UPDATE outbox_claim SET until = ?3 WHERE holder = ?2 AND kvnr IN (SELECT value FROM json_each(?1)) RETURNING kvnr
            """)
        return Set(try String.fetchAll(statement, arguments: [jsonArray(kvnrs), holder, StoredDate.value(until)]).compactMap(KVNR.init))
    }

    static func releaseClaims(_ kvnrs: Set<KVNR>, holder: String, in db: Database) throws {
        guard !kvnrs.isEmpty else { return }
        try db.cachedStatement(sql: "DELETE FROM outbox_claim WHERE holder = ?2 AND kvnr IN (SELECT value FROM json_each(?1))")
            .execute(arguments: [jsonArray(kvnrs), holder])
    }

    /// KVNRs as one JSON array for `json_each` (they are `[A-Z][0-9]{9}`: nothing needs escaping).
    private static func jsonArray(_ kvnrs: Set<KVNR>) -> String {
        "[" + kvnrs.map { "\"\($0.rawValue)\"" }.joined(separator: ",") + "]"
    }

    /// Outbox rows as transfers; a row that cannot be read is reported, not thrown.
    private static func transfers(from rows: [Row]) throws -> DueTransfers {
        var due = DueTransfers(entries: [])
        for row in rows {
            let reader = RowReader(row: row, table: "outbox")
            // `id` is the INTEGER PRIMARY KEY: always readable.
            let id: Int64 = try reader.value("id")
            do {
                let payload: Data = try reader.value("payload")
                due.entries.append(OutboxEntry(
                    id: id, operation: try reader.parsed("operation", RegistryTransfer.Operation.init(rawValue:)),
                    kvnr: try reader.parsed("kvnr", KVNR.init), prescriptionID: try reader.parsed("task_id", PrescriptionID.init),
                    status: try reader.parsedIfPresent("status", TaskStatus.init(rawValue:)), idempotencyKey: try reader.value("idempotency_key"),
                    payload: [UInt8](payload), attempts: try reader.value("attempts"), createdAt: try reader.date("created_at")
                ))
            } catch let SQLiteStoreError.corruptRow(_, column) {
                due.unreadable.append(UnreadableTransfer(id: id, reason: "unreadable outbox row: column \(column)"))
            }
        }
        return due
    }

    static func settle(_ settlement: OutboxSettlement, at now: Date, in db: Database) throws {
        let time = StoredDate.value(now)
        switch settlement {
        case .sent(let id):
            // The row itself records it (state, settled_at); the log keeps the exceptions.
            try db.cachedStatement(sql: "UPDATE outbox SET state = 'sent', payload = NULL, settled_at = ? WHERE id = ? AND state = 'pending'")
                .execute(arguments: [time, id])
            if db.changesCount == 1 { try auditOutcome(of: id, failed: false, at: now, in: db) }
        case let .refused(id, reason):
            try db.cachedStatement(sql: """
                UPDATE outbox SET state = 'refused', payload = NULL, last_error = ?, settled_at = ? WHERE id = ? AND state = 'pending'
                """).execute(arguments: [reason, time, id])
            if db.changesCount == 1 { try auditOutcome(of: id, failed: true, at: now, in: db) }
            try log(outboxID: id, kvnr: nil, "refused", reason, time, db)
        case let .retry(id, at, reason):
            try db.cachedStatement(sql: """
                UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ? AND state = 'pending'
                """).execute(arguments: [StoredDate.value(at), reason, id])
            try log(outboxID: id, kvnr: nil, "retry", reason, time, db)
        case let .deadLetter(id, reason):
            try db.cachedStatement(sql: """
                UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?, settled_at = ? WHERE id = ? AND state = 'pending'
                """).execute(arguments: [reason, time, id])
            if db.changesCount == 1 { try auditOutcome(of: id, failed: true, at: now, in: db) }
            try log(outboxID: id, kvnr: nil, "dead", reason, time, db)
        case let .pause(kvnr, until, reason):
            try db.cachedStatement(sql: """
                UPDATE outbox SET next_attempt_at = max(next_attempt_at, ?), last_error = ? WHERE kvnr = ? AND state = 'pending'
                """).execute(arguments: [StoredDate.value(until), reason, kvnr.rawValue])
            try log(outboxID: nil, kvnr: kvnr, "paused", reason, time, db)
        case let .drop(kvnr, through, reason, objection):
            if let objection { try ObjectionRows.upsert(objection, in: db) }
            try db.cachedStatement(sql: """
                UPDATE outbox SET state = 'dropped', payload = NULL, last_error = ?, settled_at = ?
                WHERE kvnr = ? AND state = 'pending' AND id <= ?
                """).execute(arguments: [reason, time, kvnr.rawValue, through])
            try log(outboxID: nil, kvnr: kvnr, "dropped \(db.changesCount)", reason, time, db)
        }
    }

    /// The insurant's audit entry for a transfer just settled (A_25962). A row whose operation or
    /// ids this version cannot read gets none: it is a dead letter for an operator, not an event.
    private static func auditOutcome(of id: Int64, failed: Bool, at now: Date, in db: Database) throws {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT task_id, kvnr, operation FROM outbox WHERE id = ?"), arguments: [id]),
              let operation = (row["operation"] as String?).flatMap(RegistryTransfer.Operation.init(rawValue:)),
              let prescriptionID = (row["task_id"] as String?).flatMap(PrescriptionID.init)
        else { return }
        let kvnr = (row["kvnr"] as String?).flatMap(KVNR.init)
        try AuditRows.insert(.registry(operation, prescriptionID: prescriptionID, kvnr: kvnr, failed: failed, recorded: now), in: db)
    }

    static func statistics(in db: Database) throws -> OutboxStatistics {
        // The covering index answers both without reading a row (the planner would pick the other one).
        let pending = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT COUNT(*), MIN(created_at) FROM outbox INDEXED BY outbox_pending WHERE state = 'pending'
            """))
        let dead = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM outbox WHERE state = 'dead'")) ?? 0
        let oldest: Double? = pending?[1]
        return OutboxStatistics(pending: pending?[0] ?? 0, oldestPending: oldest.map(StoredDate.date), dead: dead)
    }

    static func log(outboxID: Int64?, kvnr: KVNR?, _ outcome: String, _ detail: String?, _ time: Double, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO outbox_event (outbox_id, kvnr, outcome, detail, recorded) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: arguments([outboxID, kvnr?.rawValue, outcome, detail, time]))
    }
}
