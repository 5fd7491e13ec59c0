import Dispensing
import Foundation
import Logging
import PostgresNIO

/// Dead letters in the `outbox` table, for the operator (``DeadLetterStore``), with the SQLite
/// store's rules (`SQLiteStore/DeadLetterRows.swift`): a dead letter is superseded by a later row
/// of the same task, sent, pending or refused, that carries newer data of the same registry record
/// (for a dispensation also a later `cancel-prescription-erp`).
///
/// Unlike SQLite's, the requeue decides and writes in one transaction: PostgreSQL's writers do not
/// wait for each other's reads, so there is no lock worth splitting the check off for. The dead
/// row is locked first, so two operators requeueing it at once requeue it once.
enum DeadLetterRows {
    private static func sameRecord(as operation: RegistryTransfer.Operation) -> [String] {
        let operations: [RegistryTransfer.Operation] = switch operation {
        case .providePrescription, .cancelPrescription: [.providePrescription, .cancelPrescription]
        case .provideDispensation, .cancelDispensation: [.provideDispensation, .cancelDispensation, .cancelPrescription]
        }
        return operations.map(\.rawValue)
    }

    /// Every dead letter (or just `id`), oldest first, each with the latest transfer superseding it.
    static func deadLetters(id: Int64? = nil, on connection: PostgresConnection, logger: Logger) async throws -> [DeadLetter] {
        let rows = try await connection.rows("""
            SELECT id, operation, task_id, attempts, last_error, settled_at FROM outbox
            WHERE state = 'dead' AND (\(id)::bigint IS NULL OR id = \(id)::bigint) ORDER BY id
            """, logger: logger)
        var letters: [DeadLetter] = []
        for row in rows {
            let reader = RowReader(row, table: "outbox")
            // The relay sets unreadable rows aside as dead letters: list them too, as unreadable.
            let operation = try? reader.parsed("operation", RegistryTransfer.Operation.init(rawValue:))
            let prescriptionID = try? reader.parsed("task_id", PrescriptionID.init)
            var letter = DeadLetter(
                id: try reader.value("id"), operation: operation, prescriptionID: prescriptionID,
                attempts: (try? reader.value("attempts", as: Int.self)) ?? 0, lastError: (try? reader.valueIfPresent("last_error", as: String.self)) ?? nil,
                settledAt: (try? reader.dateIfPresent("settled_at")) ?? nil, supersededBy: nil
            )
            if let operation, let prescriptionID {
                letter.supersededBy = try await supersedingTransfer(of: prescriptionID, operation: operation, after: letter.id,
                                                                    on: connection, logger: logger)
            }
            letters.append(letter)
        }
        return letters
    }

    /// The latest row after `after` that supersedes a dead letter of `operation` on the task.
    static func supersedingTransfer(of prescriptionID: PrescriptionID, operation: RegistryTransfer.Operation, after: Int64,
                                    on connection: PostgresConnection, logger: Logger) async throws -> Int64? {
        let rows = try await connection.rows("""
            SELECT MAX(s.id) AS later FROM outbox AS s
            WHERE s.task_id = \(prescriptionID.rawValue) AND s.id > \(after) AND s.state IN ('sent', 'pending', 'refused')
            AND s.operation = ANY(\(sameRecord(as: operation)))
            """, logger: logger)
        return try rows.first.flatMap { try RowReader($0, table: "outbox").valueIfPresent("later", as: Int64.self) }
    }

    /// See ``DeadLetterStore/requeue(_:at:)``; run inside one transaction.
    static func requeue(_ id: Int64, at now: Date, on connection: PostgresConnection, logger: Logger) async throws -> RequeueOutcome {
        let locked = try await connection.rows("SELECT state, kvnr, task_id FROM outbox WHERE id = \(id) FOR UPDATE", logger: logger)
        guard let row = locked.first else { return .notDead }
        let reader = RowReader(row, table: "outbox")
        guard try reader.value("state", as: String.self) == "dead" else { return .notDead }
        // New transfers of a task are written only under its row lock (`update`): holding it, no
        // superseding row can be committed between the check below and the requeue.
        if let task = try? reader.parsed("task_id", PrescriptionID.init) {
            _ = try await connection.rows("SELECT id FROM task WHERE id = \(task.rawValue) FOR UPDATE", logger: logger)
        }
        guard let letter = try await deadLetters(id: id, on: connection, logger: logger).first
        else { return .notDead }
        guard letter.operation != nil, letter.prescriptionID != nil else { return .unreadable }
        if let later = letter.supersededBy { return .superseded(by: later) }
        guard let kvnr = try? reader.parsed("kvnr", KVNR.init) else { return .unreadable }
        if try await !ObjectionRows.fetchAll(of: kvnr, on: connection, logger: logger).isEmpty { return .objected }
        let time = StoredDate.value(now)
        _ = try await connection.rows("""
            UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = \(time), settled_at = NULL WHERE id = \(id) AND state = 'dead'
            """, logger: logger)
        try await OutboxRows.log(outboxID: id, kvnr: nil, "requeued", "by an operator", time, on: connection, logger: logger)
        return .requeued
    }
}
