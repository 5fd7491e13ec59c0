import Dispensing
import FHIRModel
import Foundation
import GRDB

/// The `task` table: one row per PrescriptionTask, every field in its own column so the store can
/// search by it, the prescription and the receipt as FHIR JSON, the prescription's CMS as its bytes.
enum TaskRows {
    /// The columns of plain values, `id` first, in the order ``scalarValues(of:)`` returns them.
    static let scalarColumns = [
        "id", "status", "flow_type", "kvnr", "owner", "access_code", "secret", "created_at", "last_modified",
        "authored_on", "expiry_date", "accept_date", "last_medication_dispense", "accepted_at", "completed_at",
    ]
    /// The document columns, after the scalar ones: the FHIR JSON of the prescription and the
    /// receipt, and the prescription's CMS (raw bytes). Large, and rarely changed.
    static let resourceColumns = ["prescription", "receipt", "prescription_cms"]
    static let columns = scalarColumns + resourceColumns

    static let insertSQL =
        "INSERT INTO task (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
    /// The columns of each task index: `task_by_kvnr`, and v12's `task_by_owner` (the pharmacy's
    /// worklist). SQLite rewrites an index entry whenever its column is assigned, even to the same
    /// value, and that entry sits on a page of its own which the commit must write: so an update
    /// assigns an index's columns only when one of them changes (`$activate` the first, `$accept`,
    /// `$close`, `$reject` and `$abort` the second; a repeated `$dispense` neither).
    static let indexGroups: [Set<String>] = [["kvnr", "created_at"], ["owner", "status", "accepted_at"]]
    /// Each resource column takes a flag and a value: it is only overwritten when the flag is set.
    private static func updateSQL(assigningGroups mask: Int) -> String {
        let skipped = columns(outside: mask)
        let assigned = scalarColumns.dropFirst().filter { !skipped.contains($0) }
        return """
            UPDATE task SET \((assigned.map { "\($0) = ?" }
                + resourceColumns.map { "\($0) = CASE WHEN ? THEN ? ELSE \($0) END" }).joined(separator: ", "))
            WHERE id = ?
            """
    }
    /// The columns of the index groups not in `mask`.
    private static func columns(outside mask: Int) -> Set<String> {
        indexGroups.enumerated().filter { mask & (1 << $0.offset) == 0 }.reduce(into: Set<String>()) { $0.formUnion($1.element) }
    }
    /// The statement for each combination of index groups assigned (bit `i`: group `i`).
    static let updateSQLs = (0..<(1 << indexGroups.count)).map { updateSQL(assigningGroups: $0) }
    static let selectSQL = "SELECT \(columns.joined(separator: ", ")) FROM task"

    static func scalarValues(of task: PrescriptionTask) -> [(any DatabaseValueConvertible)?] {
        [
            task.id.rawValue, task.status.rawValue, task.flowType.rawValue, task.kvnr?.rawValue, task.owner?.rawValue,
            task.accessCode?.rawValue, task.secret?.rawValue, StoredDate.value(task.createdAt),
            StoredDate.value(task.lastModified), task.authoredOn, task.expiryDate, task.acceptDate,
            StoredDate.value(task.lastMedicationDispense), StoredDate.value(task.acceptedAt),
            StoredDate.value(task.completedAt),
        ]
    }

    /// The arguments of ``insertSQL``, resources encoded. Built before the write is queued, so the
    /// single writer spends its time on SQL, not on JSON.
    static func insertArguments(of task: PrescriptionTask) throws -> StatementArguments {
        arguments(scalarValues(of: task) + [
            try StoredResource.value(task.prescription), try StoredResource.value(task.receipt), task.signedPrescription.map { Data($0) },
        ])
    }

    /// Inserts a new row; throws GRDB's `SQLITE_CONSTRAINT_PRIMARYKEY` error for a taken id.
    static func insert(_ insertArguments: StatementArguments, in db: Database) throws {
        try db.cachedStatement(sql: insertSQL).execute(arguments: insertArguments)
    }

    /// Overwrites the row of `task` (read as `previous` in the same transaction). The prescription,
    /// its CMS and the receipt are encoded and written only when they changed: most operations leave them
    /// alone, and encoding a KBV bundle would be the largest cost of a write on the single writer.
    /// (Comparing them is cheap: an unchanged tree shares its storage with `previous`.)
    static func update(_ task: PrescriptionTask, replacing previous: PrescriptionTask, in db: Database) throws {
        let prescriptionChanged = task.prescription != previous.prescription
        let receiptChanged = task.receipt != previous.receipt
        let cmsChanged = task.signedPrescription != previous.signedPrescription
        let changed = [task.kvnr != previous.kvnr || task.createdAt != previous.createdAt,
                       task.owner != previous.owner || task.status != previous.status || task.acceptedAt != previous.acceptedAt]
        let mask = changed.enumerated().reduce(0) { $0 | ($1.element ? 1 << $1.offset : 0) }
        let skipped = columns(outside: mask)
        let scalars = zip(scalarColumns, scalarValues(of: task)).dropFirst().filter { !skipped.contains($0.0) }.map(\.1)
        let values = Array(scalars) + [
            prescriptionChanged, prescriptionChanged ? try StoredResource.value(task.prescription) : nil,
            receiptChanged, receiptChanged ? try StoredResource.value(task.receipt) : nil,
            cmsChanged, cmsChanged ? task.signedPrescription.map { Data($0) } : nil,
            task.id.rawValue,
        ]
        try db.cachedStatement(sql: updateSQLs[mask]).execute(arguments: arguments(values))
    }

    /// The task; its prescription is decoded through `prescriptions` when given (the writer's reads).
    static func fetch(_ id: PrescriptionID, in db: Database, prescriptions: DecodedResourceCache? = nil) throws -> PrescriptionTask? {
        let statement = try db.cachedStatement(sql: "\(selectSQL) WHERE id = ?")
        return try Row.fetchOne(statement, arguments: [id.rawValue]).map { try task(from: $0, prescriptions: prescriptions) }
    }

    /// An insurant's tasks, newest first (ties by id, so the order is stable).
    static func fetchAll(of kvnr: KVNR, in db: Database) throws -> [PrescriptionTask] {
        let statement = try db.cachedStatement(sql: "\(selectSQL) WHERE kvnr = ? ORDER BY created_at DESC, id DESC")
        return try Row.fetchAll(statement, arguments: [kvnr.rawValue]).map(task(from:))
    }

    static func task(from row: Row) throws -> PrescriptionTask {
        try task(from: row, prescriptions: nil)
    }

    static func task(from row: Row, prescriptions: DecodedResourceCache?) throws -> PrescriptionTask {
        let reader = RowReader(row: row, table: "task", columns: columns)
        var task = PrescriptionTask(
            id: try reader.parsed("id", PrescriptionID.init),
            status: try reader.parsed("status", TaskStatus.init(rawValue:)),
            accessCode: try reader.parsedIfPresent("access_code", TaskCredential.init),
            createdAt: try reader.date("created_at")
        )
        guard try reader.value("flow_type", as: Int.self) == task.flowType.rawValue else {
            throw SQLiteStoreError.corruptRow(table: "task", column: "flow_type")
        }
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
        if let prescriptions {
            task.prescription = try reader.resourceIfPresent("prescription", cachedIn: prescriptions, key: task.id.rawValue)
        } else {
            task.prescription = try reader.resourceIfPresent("prescription")
        }
        task.receipt = try reader.resourceIfPresent("receipt")
        task.signedPrescription = try reader.valueIfPresent("prescription_cms", as: Data.self).map { Array($0) }
        return task
    }
}

/// The `audit_event` table: append-only, read back in the order it was written.
enum AuditRows {
    static let columns = "event_id, task_id, action, agent_profession, agent_id, agent_name, representative, failed, kvnr, recorded"

    static func insert(_ entry: AuditEntry, in db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO audit_event (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        try statement.execute(arguments: arguments([
            RandomIDGenerator.timeOrderedUUID(now: entry.recorded), entry.prescriptionID?.rawValue, entry.action.rawValue,
            entry.agentProfession?.rawValue, entry.agentID, entry.agentName, entry.representative, entry.failed,
            entry.kvnr?.rawValue, StoredDate.value(entry.recorded),
        ]))
    }

    /// The trail of one task, oldest first (by insertion, which is commit order).
    static func fetchAll(of id: PrescriptionID, in db: Database) throws -> [AuditEntry] {
        let statement = try db.cachedStatement(sql: "SELECT \(columns) FROM audit_event WHERE task_id = ? ORDER BY id")
        return try Row.fetchAll(statement, arguments: [id.rawValue]).map { try stored(from: $0).entry }
    }

    /// The insurant's entries, oldest first: those of their tasks (through `task_by_kvnr`) and
    /// those naming no task.
    static func fetchAll(of kvnr: KVNR, in db: Database) throws -> [StoredAuditEntry] {
        let statement = try db.cachedStatement(sql: """
            SELECT \(columns) FROM audit_event
            WHERE kvnr = ?1 AND (task_id IN (SELECT id FROM task WHERE kvnr = ?1) OR task_id IS NULL)
            ORDER BY id
            """)
        return try Row.fetchAll(statement, arguments: [kvnr.rawValue]).map(stored(from:))
    }

    static func fetch(_ eventID: String, of kvnr: KVNR, in db: Database) throws -> StoredAuditEntry? {
        let statement = try db.cachedStatement(sql: "SELECT \(columns) FROM audit_event WHERE event_id = ? AND kvnr = ?")
        return try Row.fetchOne(statement, arguments: [eventID, kvnr.rawValue]).map(stored(from:))
    }

    static func stored(from row: Row) throws -> StoredAuditEntry {
        let reader = RowReader(row: row, table: "audit_event")
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
