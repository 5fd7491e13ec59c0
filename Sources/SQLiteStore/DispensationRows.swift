import Dispensing
import FHIRModel
import GRDB

/// The `medication_dispense` table: a task's current dispensation set, one row per
/// MedicationDispense with its Medication, in the order the pharmacy sent them (`position`).
enum DispensationRows {
    /// Applies what an operation does to the stored set (A_26482: a new set replaces the old one
    /// whole; `$reject` and `$abort` delete it).
    ///
    /// A replacement overwrites the rows in place, position by position, and deletes the positions
    /// the new set no longer has. Deleting the whole set and inserting it again would store the
    /// same, but would move every row to a new page and rewrite its entries in all three indexes;
    /// in place, a row whose id, insurant and handover date stay (the usual repeated `$dispense`:
    /// ids follow the position, decision 7) changes one table page and no index page.
    static func apply(_ change: DispensationChange, of task: PrescriptionTask, in db: Database) throws {
        switch change {
        case .keep:
            return
        case .delete:
            try delete(task.id, in: db)
        case let .replace(dispensations):
            let overwrite = try db.cachedStatement(sql: """
                UPDATE medication_dispense SET resource = ?, medication = ?
                WHERE task_id = ? AND position = ? AND id = ? AND kvnr IS ? AND when_handed_over IS ? AND performer IS ?
                """)
            // Clears the old row at this position, and an old row that had this id at a later
            // position. Rows before it already belong to the new set: an id clash with one of those
            // (or with another task's row) fails the write, as it must, which `INSERT OR REPLACE`
            // would have turned into a silently lost dispensation.
            let clear = try db.cachedStatement(sql: """
                DELETE FROM medication_dispense WHERE task_id = ? AND (position = ? OR (id = ? AND position > ?))
                """)
            let insert = try db.cachedStatement(sql: """
                INSERT INTO medication_dispense (task_id, position, id, kvnr, when_handed_over, resource, medication, performer)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for (position, dispensation) in dispensations.enumerated() {
                guard let id = dispensation.view.id else { throw SQLiteStoreError.dispensationWithoutID }
                let kvnr = task.kvnr?.rawValue ?? dispensation.view.subjectIdentifier?.value
                let handedOver = dispensation.view.whenHandedOver.flatMap(CalendarDate.datePart(of:))
                // The pharmacy's history (v12): every performer of the set is the caller, who is the owner (``DispenseRules``).
                let performer = task.owner?.rawValue
                let resource = try StoredResource.value(dispensation.medicationDispense)
                let medication = try StoredResource.value(dispensation.medication)
                try overwrite.execute(arguments: arguments([resource, medication, task.id.rawValue, position, id, kvnr, handedOver, performer]))
                if db.changesCount == 0 {
                    try clear.execute(arguments: [task.id.rawValue, position, id, position])
                    try insert.execute(arguments: arguments([task.id.rawValue, position, id, kvnr, handedOver, resource, medication, performer]))
                }
            }
            try db.cachedStatement(sql: "DELETE FROM medication_dispense WHERE task_id = ? AND position >= ?")
                .execute(arguments: [task.id.rawValue, dispensations.count])
        }
    }

    static func delete(_ id: PrescriptionID, in db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM medication_dispense WHERE task_id = ?").execute(arguments: [id.rawValue])
    }

    static func fetchAll(of id: PrescriptionID, in db: Database) throws -> [Dispensation] {
        let statement = try db.cachedStatement(sql: "SELECT \(columns) FROM medication_dispense WHERE task_id = ? ORDER BY position")
        return try Row.fetchAll(statement, arguments: [id.rawValue]).map(dispensation(from:))
    }

    /// The insurant's sets, by task, each in the order sent.
    static func sets(of kvnr: KVNR, in db: Database) throws -> [DispensationSet] {
        let statement = try db.cachedStatement(sql: """
            SELECT task_id, \(columns) FROM medication_dispense WHERE kvnr = ? ORDER BY task_id, position
            """)
        var sets: [DispensationSet] = []
        for row in try Row.fetchAll(statement, arguments: [kvnr.rawValue]) {
            let id = try RowReader(row: row, table: "medication_dispense").parsed("task_id", PrescriptionID.init)
            let dispensation = try dispensation(from: row)
            if sets.last?.prescriptionID == id {
                sets[sets.count - 1].dispensations.append(dispensation)
            } else {
                sets.append(DispensationSet(prescriptionID: id, dispensations: [dispensation]))
            }
        }
        return sets
    }

    private static let columnList = ["id", "resource", "medication"]
    static let columns = columnList.joined(separator: ", ")

    /// A stored dispensation, with the locations a response names it by (the request body it
    /// came in is long gone).
    static func dispensation(from row: Row) throws -> Dispensation {
        let reader = RowReader(row: row, table: "medication_dispense")
        let id: String = try reader.value("id")
        let medication = try reader.resourceIfPresent("medication")
        return Dispensation(
            medicationDispense: try reader.resource("resource"),
            medication: medication,
            location: "MedicationDispense/\(id)",
            medicationLocation: medication.map { _ in "Medication" }
        )
    }
}
