public import Dispensing
import GRDB

/// A pharmacy's own data, read page by page (v12's `task_by_owner` and
/// `medication_dispense_by_performer`), and the daily eGK lock's counts (`egk_proof_failure`).
enum PharmacyRows {
    /// The owner's tasks in the statuses, by acceptance, ties by id (the page stays stable).
    static func worklist(_ query: WorklistQuery, in db: Database) throws -> SearchPage<PrescriptionTask> {
        let statuses = query.statuses.map(\.rawValue).sorted()
        guard !statuses.isEmpty else { return SearchPage(items: [], total: 0) }
        let filter = "owner = ? AND status IN (\(statuses.map { _ in "?" }.joined(separator: ", ")))"
        let filterArguments: [(any DatabaseValueConvertible)?] = [query.owner.rawValue] + statuses
        let total = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM task WHERE \(filter)"),
                                     arguments: arguments(filterArguments)) ?? 0
        guard query.page.count > 0, query.page.offset < total else { return SearchPage(items: [], total: total) }
        let direction = query.page.descending ? "DESC" : "ASC"
        let statement = try db.cachedStatement(sql: """
            \(TaskRows.selectSQL) WHERE \(filter) ORDER BY accepted_at \(direction), id \(direction) LIMIT ? OFFSET ?
            """)
        let rows = try Row.fetchAll(statement, arguments: arguments(filterArguments + [query.page.count, query.page.offset]))
        return SearchPage(items: try rows.map(TaskRows.task(from:)), total: total)
    }

    /// The performer's MedicationDispenses on the days asked, by hand-over day, ties by task and position.
    static func history(_ query: DispensationHistoryQuery, in db: Database) throws -> SearchPage<Dispensation> {
        var filter = "performer = ?"
        var filterArguments: [(any DatabaseValueConvertible)?] = [query.performer.rawValue]
        for alternatives in query.handedOver {
            var conditions: [String] = []
            for range in alternatives {
                var bounds = ["when_handed_over IS NOT NULL"]
                if let from = range.from { bounds.append("when_handed_over >= ?"); filterArguments.append(from) }
                if let through = range.through { bounds.append("when_handed_over <= ?"); filterArguments.append(through) }
                conditions.append("(" + bounds.joined(separator: " AND ") + ")")
            }
            filter += " AND (" + (conditions.isEmpty ? "0" : conditions.joined(separator: " OR ")) + ")"
        }
        let total = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM medication_dispense WHERE \(filter)"),
                                     arguments: arguments(filterArguments)) ?? 0
        guard query.page.count > 0, query.page.offset < total else { return SearchPage(items: [], total: total) }
        let direction = query.page.descending ? "DESC" : "ASC"
        let statement = try db.cachedStatement(sql: """
            SELECT \(DispensationRows.columns) FROM medication_dispense WHERE \(filter)
            ORDER BY when_handed_over \(direction), task_id \(direction), position LIMIT ? OFFSET ?
            """)
        let rows = try Row.fetchAll(statement, arguments: arguments(filterArguments + [query.page.count, query.page.offset]))
        return SearchPage(items: try rows.map(DispensationRows.dispensation(from:)), total: total)
    }

    static func proofFailures(of telematikID: TelematikID, day: Int64, in db: Database) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT failures FROM egk_proof_failure WHERE day = ? AND telematik_id = ?"),
                         arguments: [day, telematikID.rawValue]) ?? 0
    }

    /// In the single writer's transaction, so concurrent failures each count; earlier days go.
    static func recordProofFailure(of telematikID: TelematikID, day: Int64, in db: Database) throws -> Int {
        try db.cachedStatement(sql: "DELETE FROM egk_proof_failure WHERE day < ?").execute(arguments: [day])
        try db.cachedStatement(sql: """
            INSERT INTO egk_proof_failure (day, telematik_id, failures) VALUES (?, ?, 1)
            ON CONFLICT (day, telematik_id) DO UPDATE SET failures = failures + 1
            """).execute(arguments: [day, telematikID.rawValue])
        return try proofFailures(of: telematikID, day: day, in: db)
    }
}

extension SQLiteTaskStore: PharmacyReadStore {
    public func worklist(_ query: WorklistQuery) async throws -> SearchPage<PrescriptionTask> {
        try await pool.read { db in try PharmacyRows.worklist(query, in: db) }
    }

    public func dispensationHistory(_ query: DispensationHistoryQuery) async throws -> SearchPage<Dispensation> {
        try await pool.read { db in try PharmacyRows.history(query, in: db) }
    }
}

extension SQLiteTaskStore: ProofFailureStore {
    public func proofFailures(of telematikID: TelematikID, day: Int64) async throws -> Int {
        try await pool.read { db in try PharmacyRows.proofFailures(of: telematikID, day: day, in: db) }
    }

    public func recordProofFailure(of telematikID: TelematikID, day: Int64) async throws -> Int {
        try await writer.submit { db in try PharmacyRows.recordProofFailure(of: telematikID, day: day, in: db) }
    }
}
