import Dispensing
import Foundation
import Logging
import PostgresNIO

/// The carbon-copy outbox (migration 11), with the SQLite store's semantics
/// (`SQLiteStore/CarbonCopyRows.swift`), statement for statement.
enum CarbonCopyRows {
    static func insert(_ copy: CarbonCopy, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        let time = StoredDate.value(now)
        let body = try StoredResource.value(copy.payload)
        _ = try await connection.rows("""
            INSERT INTO carbon_copy (task_id, idempotency_key, body, created_at, next_attempt_at)
            VALUES (\(copy.prescriptionID.rawValue), \(copy.idempotencyKey), \(body), \(time), \(time))
            """, logger: logger)
    }

    static func anyDue(now: Date, holder: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let time = StoredDate.value(now)
        let rows = try await connection.rows("""
            SELECT EXISTS (SELECT 1 FROM carbon_copy WHERE state = 'pending' AND next_attempt_at <= \(time)
                AND (claimed_until IS NULL OR claimed_until <= \(time) OR claimed_by = \(holder))) AS due
            """, logger: logger)
        return try rows.first.map { try RowReader($0, table: "carbon_copy").value("due", as: Bool.self) } ?? false
    }

    /// `FOR UPDATE SKIP LOCKED`: two relays claiming at once take different rows instead of waiting.
    static func claimDue(now: Date, limit: Int, holder: String, until: Date, on connection: PostgresConnection,
                         logger: Logger) async throws -> [CarbonCopyEntry] {
        let time = StoredDate.value(now)
        let rows = try await connection.rows("""
            UPDATE carbon_copy SET claimed_by = \(holder), claimed_until = \(StoredDate.value(until))
            WHERE id IN (SELECT id FROM carbon_copy WHERE state = 'pending' AND next_attempt_at <= \(time)
                AND (claimed_until IS NULL OR claimed_until <= \(time) OR claimed_by = \(holder)) ORDER BY id LIMIT \(limit)
                FOR UPDATE SKIP LOCKED)
            RETURNING id, task_id, idempotency_key, body, attempts, created_at
            """, logger: logger)
        return try rows.map { row in
            let reader = RowReader(row, table: "carbon_copy")
            return CarbonCopyEntry(
                id: try reader.value("id"), prescriptionID: try reader.parsed("task_id", PrescriptionID.init),
                idempotencyKey: try reader.value("idempotency_key"), body: try reader.bytesIfPresent("body") ?? [],
                attempts: Int(try reader.value("attempts", as: Int32.self)), createdAt: try reader.date("created_at")
            )
        }.sorted { $0.id < $1.id }
    }

    static func settle(_ settlement: CarbonCopySettlement, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        let time = StoredDate.value(now)
        switch settlement {
        case .sent(let id):
            _ = try await connection.rows("""
                UPDATE carbon_copy SET state = 'sent', settled_at = \(time), claimed_by = NULL, claimed_until = NULL
                WHERE id = \(id) AND state = 'pending'
                """, logger: logger)
        case let .retry(id, at, reason):
            _ = try await connection.rows("""
                UPDATE carbon_copy SET attempts = attempts + 1, next_attempt_at = \(StoredDate.value(at)), last_error = \(reason),
                claimed_by = NULL, claimed_until = NULL WHERE id = \(id) AND state = 'pending'
                """, logger: logger)
        case let .deadLetter(id, reason):
            _ = try await connection.rows("""
                UPDATE carbon_copy SET state = 'dead', attempts = attempts + 1, last_error = \(reason), settled_at = \(time),
                claimed_by = NULL, claimed_until = NULL WHERE id = \(id) AND state = 'pending'
                """, logger: logger)
        }
    }

    static func statistics(on connection: PostgresConnection, logger: Logger) async throws -> OutboxStatistics {
        let rows = try await connection.rows("""
            SELECT (SELECT COUNT(*) FROM carbon_copy WHERE state = 'pending') AS pending,
                   (SELECT MIN(created_at) FROM carbon_copy WHERE state = 'pending') AS oldest,
                   (SELECT COUNT(*) FROM carbon_copy WHERE state = 'dead') AS dead
            """, logger: logger)
        guard let row = rows.first else { throw PostgreSQLStoreError.corruptRow(table: "carbon_copy", column: "count") }
        let reader = RowReader(row, table: "carbon_copy")
        return OutboxStatistics(pending: Int(try reader.value("pending", as: Int64.self)), oldestPending: try reader.dateIfPresent("oldest"),
                                dead: Int(try reader.value("dead", as: Int64.self)))
    }
}
