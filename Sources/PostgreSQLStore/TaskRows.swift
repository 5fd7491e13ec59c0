import Dispensing
import FHIRModel
import Foundation
import Logging
import PostgresNIO

/// The `task` table, with the same columns and encoding as the SQLite store's. PostgreSQL writes a
/// new row version per update whatever is assigned, so the update assigns every scalar column (no
/// SQLite-style care for index pages); the documents are still encoded and sent only when they
/// changed, which is the larger cost.
enum TaskRows {
    static let columns = """
        id, status, flow_type, kvnr, owner, access_code, secret, created_at, last_modified, authored_on, expiry_date,
        accept_date, last_medication_dispense, accepted_at, completed_at, prescription, receipt, prescription_cms
        """

    /// The scalar columns' values in the order of ``columns``.
    private static func scalars(of task: PrescriptionTask, into bindings: inout PostgresBindings) {
        bindings.append(task.id.rawValue)
        bindings.append(task.status.rawValue)
        bindings.append(task.flowType.rawValue)
        bindings.append(task.kvnr?.rawValue)
        bindings.append(task.owner?.rawValue)
        bindings.append(task.accessCode?.rawValue)
        bindings.append(task.secret?.rawValue)
        bindings.append(StoredDate.value(task.createdAt))
        bindings.append(StoredDate.value(task.lastModified))
        bindings.append(task.authoredOn)
        bindings.append(task.expiryDate)
        bindings.append(task.acceptDate)
        bindings.append(StoredDate.value(task.lastMedicationDispense))
        bindings.append(StoredDate.value(task.acceptedAt))
        bindings.append(StoredDate.value(task.completedAt))
    }

    /// Inserts the task unless its id is taken; `false` then (`ON CONFLICT DO NOTHING`, so a taken
    /// id aborts nothing and the transaction goes on to commit the audit entry only on success).
    static func insert(_ task: PrescriptionTask, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        var bindings = PostgresBindings(capacity: 18)
        scalars(of: task, into: &bindings)
        bindings.append(try StoredResource.value(task.prescription))
        bindings.append(try StoredResource.value(task.receipt))
        bindings.append(StoredResource.bytes(task.signedPrescription))
        let sql = """
            INSERT INTO task (\(columns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                $16::bytea, $17::bytea, $18::bytea)
            ON CONFLICT (id) DO NOTHING RETURNING id
            """
        return try await !connection.rows(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).isEmpty
    }

    /// Overwrites the row of `task`, read as `previous` in the same transaction (under its lock).
    static func update(_ task: PrescriptionTask, replacing previous: PrescriptionTask, on connection: PostgresConnection, logger: Logger) async throws {
        var bindings = PostgresBindings(capacity: 21)
        scalars(of: task, into: &bindings)
        let prescriptionChanged = task.prescription != previous.prescription
        let receiptChanged = task.receipt != previous.receipt
        let cmsChanged = task.signedPrescription != previous.signedPrescription
        bindings.append(prescriptionChanged)
        bindings.append(prescriptionChanged ? try StoredResource.value(task.prescription) : nil)
        bindings.append(receiptChanged)
        bindings.append(receiptChanged ? try StoredResource.value(task.receipt) : nil)
        bindings.append(cmsChanged)
        bindings.append(cmsChanged ? StoredResource.bytes(task.signedPrescription) : nil)
        _ = try await connection.rows(HotPath.UpdateTask(bindings: bindings), logger: logger)
    }

    /// The task, its row locked until the transaction ends when `forUpdate`.
    static func fetch(_ id: PrescriptionID, forUpdate: Bool = false, on connection: PostgresConnection, logger: Logger) async throws -> PrescriptionTask? {
        var bindings = PostgresBindings()
        bindings.append(id.rawValue)
        let rows = forUpdate
            ? try await connection.rows(HotPath.LockTask(bindings: bindings), logger: logger)
            : try await connection.rows(PostgresQuery(unsafeSQL: "SELECT \(columns) FROM task WHERE id = $1", binds: bindings), logger: logger)
        return try rows.first.map(task(from:))
    }

    /// An insurant's tasks, newest first (ties by id, so the order is stable).
    static func fetchAll(of kvnr: KVNR, on connection: PostgresConnection, logger: Logger) async throws -> [PrescriptionTask] {
        let query: PostgresQuery = "SELECT \(unescaped: columns) FROM task WHERE kvnr = \(kvnr.rawValue) ORDER BY created_at DESC, id DESC"
        return try await connection.rows(query, logger: logger).map(task(from:))
    }

    static func task(from row: PostgresRow) throws -> PrescriptionTask {
        let reader = RowReader(row, table: "task")
        var task = PrescriptionTask(
            id: try reader.parsed("id", PrescriptionID.init),
            status: try reader.parsed("status", TaskStatus.init(rawValue:)),
            accessCode: try reader.parsedIfPresent("access_code", TaskCredential.init),
            createdAt: try reader.date("created_at")
        )
        guard try reader.value("flow_type", as: Int.self) == task.flowType.rawValue else { throw reader.corrupt("flow_type") }
        task.secret = try reader.parsedIfPresent("secret", TaskCredential.init)
        task.kvnr = try reader.parsedIfPresent("kvnr", KVNR.init)
        task.owner = try reader.parsedIfPresent("owner", TelematikID.init)
        task.lastModified = try reader.date("last_modified")
        task.authoredOn = try reader.valueIfPresent("authored_on")
        task.expiryDate = try reader.valueIfPresent("expiry_date")
        task.acceptDate = try reader.valueIfPresent("accept_date")
        task.lastMedicationDispense = try reader.dateIfPresent("last_medication_dispense")
        task.acceptedAt = try reader.dateIfPresent("accepted_at")
        task.completedAt = try reader.dateIfPresent("completed_at")
        task.prescription = try reader.resourceIfPresent("prescription")
        task.receipt = try reader.resourceIfPresent("receipt")
        task.signedPrescription = try reader.bytesIfPresent("prescription_cms")
        return task
    }
}

/// The `audit_event` table: append-only, read back in the order it was written.
enum AuditRows {
    static let columns = "event_id, task_id, action, agent_profession, agent_id, agent_name, representative, failed, kvnr, recorded"

    static func insert(_ entry: AuditEntry, on connection: PostgresConnection, logger: Logger) async throws {
        var bindings = PostgresBindings(capacity: 10)
        bindings.append(RandomIDGenerator.timeOrderedUUID(now: entry.recorded))
        bindings.append(entry.prescriptionID?.rawValue)
        bindings.append(entry.action.rawValue)
        bindings.append(entry.agentProfession?.rawValue)
        bindings.append(entry.agentID)
        bindings.append(entry.agentName)
        bindings.append(entry.representative)
        bindings.append(entry.failed)
        bindings.append(entry.kvnr?.rawValue)
        bindings.append(StoredDate.value(entry.recorded))
        _ = try await connection.rows(HotPath.InsertAudit(bindings: bindings), logger: logger)
    }

    /// The trail of one task, oldest first (by insertion; a task's writes are serialised by its row lock).
    static func fetchAll(of id: PrescriptionID, on connection: PostgresConnection, logger: Logger) async throws -> [AuditEntry] {
        let query: PostgresQuery = "SELECT \(unescaped: columns) FROM audit_event WHERE task_id = \(id.rawValue) ORDER BY id"
        return try await connection.rows(query, logger: logger).map { try stored(from: $0).entry }
    }

    /// The insurant's entries, oldest first: those of their tasks and those naming no task.
    static func fetchAll(of kvnr: KVNR, on connection: PostgresConnection, logger: Logger) async throws -> [StoredAuditEntry] {
        let query: PostgresQuery = """
            SELECT \(unescaped: columns) FROM audit_event
            WHERE kvnr = \(kvnr.rawValue) AND (task_id IN (SELECT id FROM task WHERE kvnr = \(kvnr.rawValue)) OR task_id IS NULL)
            ORDER BY id
            """
        return try await connection.rows(query, logger: logger).map(stored(from:))
    }

    static func fetch(_ eventID: String, of kvnr: KVNR, on connection: PostgresConnection, logger: Logger) async throws -> StoredAuditEntry? {
        let query: PostgresQuery = "SELECT \(unescaped: columns) FROM audit_event WHERE event_id = \(eventID) AND kvnr = \(kvnr.rawValue)"
        return try await connection.rows(query, logger: logger).first.map(stored(from:))
    }

    static func stored(from row: PostgresRow) throws -> StoredAuditEntry {
        let reader = RowReader(row, table: "audit_event")
        var entry = AuditEntry(
            action: try reader.parsed("action", AuditEntry.Action.init(rawValue:)),
            prescriptionID: try reader.parsedIfPresent("task_id", PrescriptionID.init),
            caller: Caller(profession: try reader.parsedIfPresent("agent_profession", Profession.init(rawValue:)) ?? .insurant),
            kvnr: try reader.parsedIfPresent("kvnr", KVNR.init),
            recorded: try reader.date("recorded"),
            representative: try reader.value("representative", as: Bool.self),
            failed: try reader.value("failed", as: Bool.self)
        )
        entry.agentProfession = try reader.parsedIfPresent("agent_profession", Profession.init(rawValue:))
        entry.agentID = try reader.valueIfPresent("agent_id")
        entry.agentName = try reader.valueIfPresent("agent_name")
        return StoredAuditEntry(id: try reader.value("event_id"), entry: entry)
    }
}
