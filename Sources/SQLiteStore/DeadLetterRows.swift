import Dispensing
import Foundation
import GRDB

/// Dead letters in the `outbox` table, for the operator (``DeadLetterStore``).
///
/// "Superseded" asks for a later row of the same task, sent, pending or refused (the registry
/// answered it: it does not hold the record, or not in that state), that carries newer data of
/// the same registry record: any later transfer of the prescription or of the dispensation for
/// one of the prescription, and for a dispensation also a later `cancel-prescription-erp` (the
/// prescription is gone at the registry, and with it everything dispensed on it). A pending one
/// counts because it may be in flight this moment, so the dead letter could no longer go first.
enum DeadLetterRows {
    /// The condition on `s` (a later row) for the dead letter's task `?task`, id `?after` and the
    /// operations that carry the same record.
    private static func supersedingCondition(sameRecord operations: [RegistryTransfer.Operation]) -> String {
        let list = (operations + [.cancelPrescription]).map { "'\($0.rawValue)'" }.joined(separator: ", ")
        return "s.task_id = ? AND s.id > ? AND s.state IN ('sent', 'pending', 'refused') AND s.operation IN (\(list))"
    }

    private static func sameRecord(as operation: RegistryTransfer.Operation) -> [RegistryTransfer.Operation] {
        switch operation {
        case .providePrescription, .cancelPrescription: [.providePrescription, .cancelPrescription]
        case .provideDispensation, .cancelDispensation: [.provideDispensation, .cancelDispensation]
        }
    }

    /// Every dead letter (or just `id`), oldest first, each with the latest transfer superseding it.
    /// Reads the outbox's whole tail after each one: run it in a read transaction, which holds no
    /// lock the server's writer waits for.
    static func deadLetters(in db: Database, id: Int64? = nil) throws -> [DeadLetter] {
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT id, operation, task_id, attempts, last_error, settled_at
            FROM outbox INDEXED BY outbox_dead WHERE state = 'dead' AND (?1 IS NULL OR id = ?1) ORDER BY id
            """), arguments: [id])
        return try rows.map { row in
            let reader = RowReader(row: row, table: "outbox")
            // The relay sets unreadable rows aside as dead letters: list them too, as unreadable.
            let operation = try? reader.parsed("operation", RegistryTransfer.Operation.init(rawValue:))
            let prescriptionID = try? reader.parsed("task_id", PrescriptionID.init)
            var letter = DeadLetter(
                id: try reader.value("id"), operation: operation, prescriptionID: prescriptionID, attempts: (try? reader.value("attempts")) ?? 0,
                lastError: try? reader.valueIfPresent("last_error"), settledAt: try? reader.dateIfPresent("settled_at"), supersededBy: nil
            )
            if let operation, let prescriptionID {
                letter.supersededBy = try supersedingTransfer(of: prescriptionID, operation: operation, after: letter.id, in: db)
            }
            return letter
        }
    }

    /// The latest row after `after` that supersedes a dead letter of `operation` on the task;
    /// `pendingOnly` looks only at pending rows, through their small partial index.
    static func supersedingTransfer(
        of prescriptionID: PrescriptionID, operation: RegistryTransfer.Operation, after: Int64, pendingOnly: Bool = false, in db: Database
    ) throws -> Int64? {
        let condition = supersedingCondition(sameRecord: sameRecord(as: operation))
        let sql = pendingOnly
            ? "SELECT MAX(s.id) FROM outbox AS s INDEXED BY outbox_pending WHERE s.state = 'pending' AND \(condition)"
            : "SELECT MAX(s.id) FROM outbox AS s WHERE \(condition)"
        return try Int64.fetchOne(db.cachedStatement(sql: sql), arguments: [prescriptionID.rawValue, after])
    }

    /// What a read transaction found before the requeue's write: the letter, and the last row then.
    struct RequeueCheck: Sendable {
        let letter: DeadLetter?
        let lastRowID: Int64
    }

    static func check(_ id: Int64, in db: Database) throws -> RequeueCheck {
        RequeueCheck(
            letter: try deadLetters(in: db, id: id).first,
            lastRowID: try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM outbox") ?? 0
        )
    }

    /// See ``DeadLetterStore/requeue(_:at:)``. Inside the writer's transaction, after `checked` read
    /// the outbox's tail: what can have changed since is rows written since, and rows that became
    /// pending (another requeue), which their partial index finds. So the write lock, which the
    /// server's writer waits for when this runs in another process, is held for index lookups only.
    static func requeue(_ id: Int64, at now: Date, checked: RequeueCheck, in db: Database) throws -> RequeueOutcome {
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT state, kvnr FROM outbox WHERE id = ?"), arguments: [id])
        let reader = row.map { RowReader(row: $0, table: "outbox") }
        guard let letter = checked.letter, let reader, try reader.value("state", as: String.self) == "dead" else { return .notDead }
        guard let operation = letter.operation, let prescriptionID = letter.prescriptionID else { return .unreadable }
        if let later = try letter.supersededBy
            ?? supersedingTransfer(of: prescriptionID, operation: operation, after: id, pendingOnly: true, in: db)
            ?? supersedingTransfer(of: prescriptionID, operation: operation, after: max(id, checked.lastRowID), in: db)
        {
            return .superseded(by: later)
        }
        guard let kvnr = try? reader.parsed("kvnr", KVNR.init) else { return .unreadable }
        if try !ObjectionRows.fetchAll(of: kvnr, in: db).isEmpty { return .objected }
        let time = StoredDate.value(now)
        try db.cachedStatement(sql: """
            UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, settled_at = NULL WHERE id = ? AND state = 'dead'
            """).execute(arguments: [time, id])
        try OutboxRows.log(outboxID: id, kvnr: nil, "requeued", "by an operator", time, db)
        return .requeued
    }
}
