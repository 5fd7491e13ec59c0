import Dispensing
import FHIRModel
import Foundation
import Logging
import PostgresNIO

/// The `medication_dispense` table: a task's current dispensation set, one row per
/// MedicationDispense with its Medication, in the order the pharmacy sent them (`position`).
enum DispensationRows {
    /// Applies what an operation does to the stored set (A_26482: a new set replaces the old one
    /// whole; `$reject` and `$abort` delete it).
    ///
    /// A replacement deletes the old rows and inserts the new ones: PostgreSQL writes a new row
    /// version for an update as for an insert, so SQLite's overwrite in place saves nothing here.
    /// An id clash within the new set or with another task's row fails the write on the unique
    /// `id`, as it must.
    static func apply(_ change: DispensationChange, of task: PrescriptionTask, on connection: PostgresConnection, logger: Logger) async throws {
        switch change {
        case .keep:
            return
        case .delete:
            try await delete(task.id, on: connection, logger: logger)
        case let .replace(dispensations):
            try await delete(task.id, on: connection, logger: logger)
            for (position, dispensation) in dispensations.enumerated() {
                guard let id = dispensation.view.id else { throw PostgreSQLStoreError.dispensationWithoutID }
                var bindings = PostgresBindings(capacity: 8)
                bindings.append(task.id.rawValue)
                bindings.append(position)
                bindings.append(id)
                bindings.append(task.kvnr?.rawValue ?? dispensation.view.subjectIdentifier?.value)
                bindings.append(dispensation.view.whenHandedOver.flatMap(CalendarDate.datePart(of:)))
                bindings.append(try StoredResource.value(dispensation.medicationDispense))
                bindings.append(try StoredResource.value(dispensation.medication))
                // The pharmacy's history (v12): every performer of the set is the caller, who is the owner.
                bindings.append(task.owner?.rawValue)
                _ = try await connection.rows(HotPath.InsertDispensation(bindings: bindings), logger: logger)
            }
        }
    }

    static func delete(_ id: PrescriptionID, on connection: PostgresConnection, logger: Logger) async throws {
        var bindings = PostgresBindings()
        bindings.append(id.rawValue)
        _ = try await connection.rows(HotPath.DeleteDispensations(bindings: bindings), logger: logger)
    }

    static func fetchAll(of id: PrescriptionID, on connection: PostgresConnection, logger: Logger) async throws -> [Dispensation] {
        let query: PostgresQuery = "SELECT id, resource, medication FROM medication_dispense WHERE task_id = \(id.rawValue) ORDER BY position"
        return try await connection.rows(query, logger: logger).map(dispensation(from:))
    }

    /// The insurant's sets, by task, each in the order sent.
    static func sets(of kvnr: KVNR, on connection: PostgresConnection, logger: Logger) async throws -> [DispensationSet] {
        let query: PostgresQuery = """
            SELECT task_id, id, resource, medication FROM medication_dispense WHERE kvnr = \(kvnr.rawValue) ORDER BY task_id, position
            """
        var sets: [DispensationSet] = []
        for row in try await connection.rows(query, logger: logger) {
            let id = try RowReader(row, table: "medication_dispense").parsed("task_id", PrescriptionID.init)
            let dispensation = try dispensation(from: row)
            if sets.last?.prescriptionID == id {
                sets[sets.count - 1].dispensations.append(dispensation)
            } else {
                sets.append(DispensationSet(prescriptionID: id, dispensations: [dispensation]))
            }
        }
        return sets
    }

    /// A stored dispensation, with the locations a response names it by.
    static func dispensation(from row: PostgresRow) throws -> Dispensation {
        let reader = RowReader(row, table: "medication_dispense")
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

/// The `objection` table: one row per objection, keyed by insurant, source and category.
enum ObjectionRows {
    static func fetchAll(of kvnr: KVNR, on connection: PostgresConnection, logger: Logger) async throws -> [Objection] {
        let query: PostgresQuery = "SELECT kvnr, source, category, since FROM objection WHERE kvnr = \(kvnr.rawValue) ORDER BY since"
        return try await connection.rows(query, logger: logger).map(objection(from:))
    }

    /// Several insurants' objections in one statement: the KVNRs bound as one array.
    static func fetchAll(of kvnrs: Set<KVNR>, on connection: PostgresConnection, logger: Logger) async throws -> [KVNR: [Objection]] {
        let list = kvnrs.map(\.rawValue).sorted()
        let query: PostgresQuery = "SELECT kvnr, source, category, since FROM objection WHERE kvnr = ANY(\(list)) ORDER BY kvnr, since"
        return try Dictionary(grouping: await connection.rows(query, logger: logger).map(objection(from:)), by: \.kvnr)
    }

    private static func objection(from row: PostgresRow) throws -> Objection {
        let reader = RowReader(row, table: "objection")
        return Objection(
            kvnr: try reader.parsed("kvnr", KVNR.init), category: try reader.parsed("category", ObjectionCategory.init(rawValue:)),
            source: try reader.parsed("source", ObjectionSource.init(rawValue:)), since: try reader.date("since")
        )
    }

    static func upsert(_ objection: Objection, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.rows("""
            INSERT INTO objection (kvnr, source, category, since)
            VALUES (\(objection.kvnr.rawValue), \(objection.source.rawValue), \(objection.category.rawValue), \(StoredDate.value(objection.since)))
            ON CONFLICT (kvnr, source, category) DO UPDATE SET since = excluded.since
            """, logger: logger)
    }

    /// Deletes the matching objections; how many there were.
    static func delete(of kvnr: KVNR, sources: Set<ObjectionSource>, category: ObjectionCategory?, recordedBefore: Date?,
                       on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let sources = sources.map(\.rawValue).sorted()
        // `since < +inf` when no bound is given, so one statement serves both.
        let bound = recordedBefore.map(StoredDate.value) ?? .infinity
        let query: PostgresQuery = """
            DELETE FROM objection WHERE kvnr = \(kvnr.rawValue) AND source = ANY(\(sources))
            AND (\(category?.rawValue)::text IS NULL OR category = \(category?.rawValue)::text) AND since < \(bound)
            RETURNING kvnr
            """
        return try await connection.rows(query, logger: logger).count
    }
}
