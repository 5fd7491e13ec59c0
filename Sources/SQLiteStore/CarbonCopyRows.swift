import Dispensing
import Foundation
import GRDB

/// The carbon-copy outbox (schema v11): a row is `pending` until the relay settles it `sent` or
/// `dead`; a pending row claimed by a holder until `claimed_until` is that holder's alone.
enum CarbonCopyRows {
    static func insert(_ copy: CarbonCopy, at now: Date, in db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO carbon_copy (task_id, idempotency_key, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)
            """).execute(arguments: [copy.prescriptionID.rawValue, copy.idempotencyKey, try StoredResource.value(copy.payload),
                                     StoredDate.value(now), StoredDate.value(now)])
    }

    /// Whether any copy is due and free: the relay's idle poll asks a reader first.
    static func anyDue(now: Date, holder: String, in db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: """
            SELECT EXISTS (SELECT 1 FROM carbon_copy WHERE state = 'pending' AND next_attempt_at <= ?1
                AND (claimed_until IS NULL OR claimed_until <= ?1 OR claimed_by = ?2))
            """), arguments: [StoredDate.value(now), holder]) ?? false
    }

    /// Claims and returns up to `limit` due copies, oldest first.
    static func claimDue(now: Date, limit: Int, holder: String, until: Date, in db: Database) throws -> [CarbonCopyEntry] {
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            UPDATE carbon_copy SET claimed_by = ?2, claimed_until = ?3
            WHERE id IN (SELECT id FROM carbon_copy WHERE state = 'pending' AND next_attempt_at <= ?1
                AND (claimed_until IS NULL OR claimed_until <= ?1 OR claimed_by = ?2) ORDER BY id LIMIT ?4)
            RETURNING id, task_id, idempotency_key, body, attempts, created_at
            """), arguments: [StoredDate.value(now), holder, StoredDate.value(until), limit])
        return try rows.map { row in
            let reader = RowReader(row: row, table: "carbon_copy")
            return CarbonCopyEntry(
                id: try reader.value("id"), prescriptionID: try reader.parsed("task_id", PrescriptionID.init),
                idempotencyKey: try reader.value("idempotency_key"), body: [UInt8](try reader.value("body", as: Data.self)),
                attempts: try reader.value("attempts"), createdAt: try reader.date("created_at")
            )
        }.sorted { $0.id < $1.id }
    }

    static func settle(_ settlement: CarbonCopySettlement, at now: Date, in db: Database) throws {
        let time = StoredDate.value(now)
        switch settlement {
        case .sent(let id):
            try db.cachedStatement(sql: """
                UPDATE carbon_copy SET state = 'sent', settled_at = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ? AND state = 'pending'
                """).execute(arguments: [time, id])
        case let .retry(id, at, reason):
            try db.cachedStatement(sql: """
                UPDATE carbon_copy SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, claimed_by = NULL, claimed_until = NULL
                WHERE id = ? AND state = 'pending'
                """).execute(arguments: [StoredDate.value(at), reason, id])
        case let .deadLetter(id, reason):
            try db.cachedStatement(sql: """
                UPDATE carbon_copy SET state = 'dead', attempts = attempts + 1, last_error = ?, settled_at = ?, claimed_by = NULL,
                claimed_until = NULL WHERE id = ? AND state = 'pending'
                """).execute(arguments: [reason, time, id])
        }
    }

    static func statistics(in db: Database) throws -> OutboxStatistics {
        let pending = try Row.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*), MIN(created_at) FROM carbon_copy WHERE state = 'pending'"))
        let dead = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM carbon_copy WHERE state = 'dead'")) ?? 0
        let oldest: Double? = pending?[1]
        return OutboxStatistics(pending: pending?[0] ?? 0, oldestPending: oldest.map(StoredDate.date), dead: dead)
    }
}
