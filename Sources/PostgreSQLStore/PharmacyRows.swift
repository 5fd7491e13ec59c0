public import Dispensing
import Logging
import PostgresNIO

/// A pharmacy's own data, read page by page (v12's `task_by_owner` and
/// `medication_dispense_by_performer`), and the daily eGK lock's counts (`egk_proof_failure`).
enum PharmacyRows {
    /// The owner's tasks in the statuses, by acceptance, ties by id (the page stays stable).
    static func worklist(_ query: WorklistQuery, on connection: PostgresConnection, logger: Logger) async throws -> SearchPage<PrescriptionTask> {
        let statuses = query.statuses.map(\.rawValue).sorted()
        guard !statuses.isEmpty else { return SearchPage(items: [], total: 0) }
        var bindings = PostgresBindings()
        bindings.append(query.owner.rawValue)
        bindings.append(statuses)
        let filter = "owner = $1 AND status = ANY($2::text[])"
        let total = try await count("task", filter, bindings, on: connection, logger: logger)
        guard query.page.count > 0, query.page.offset < total else { return SearchPage(items: [], total: total) }
        let direction = query.page.descending ? "DESC" : "ASC"
        bindings.append(query.page.count)
        bindings.append(query.page.offset)
        let sql = "SELECT \(TaskRows.columns) FROM task WHERE \(filter) ORDER BY accepted_at \(direction), id \(direction) LIMIT $3 OFFSET $4"
        let rows = try await connection.rows(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
        return SearchPage(items: try rows.map(TaskRows.task(from:)), total: total)
    }

    /// The performer's MedicationDispenses on the days asked, by hand-over day, ties by task and position.
    static func history(_ query: DispensationHistoryQuery, on connection: PostgresConnection, logger: Logger) async throws -> SearchPage<Dispensation> {
        var bindings = PostgresBindings()
        bindings.append(query.performer.rawValue)
        var filter = "performer = $1"
        for alternatives in query.handedOver {
            var conditions: [String] = []
            for range in alternatives {
                var bounds = ["when_handed_over IS NOT NULL"]
                if let from = range.from {
                    bindings.append(from)
                    bounds.append("when_handed_over >= $\(bindings.count)::text")
                }
                if let through = range.through {
                    bindings.append(through)
                    bounds.append("when_handed_over <= $\(bindings.count)::text")
                }
                conditions.append("(" + bounds.joined(separator: " AND ") + ")")
            }
            filter += " AND (" + (conditions.isEmpty ? "false" : conditions.joined(separator: " OR ")) + ")"
        }
        let total = try await count("medication_dispense", filter, bindings, on: connection, logger: logger)
        guard query.page.count > 0, query.page.offset < total else { return SearchPage(items: [], total: total) }
        let direction = query.page.descending ? "DESC" : "ASC"
        bindings.append(query.page.count)
        bindings.append(query.page.offset)
        let sql = """
            SELECT id, resource, medication FROM medication_dispense WHERE \(filter)
            ORDER BY when_handed_over \(direction), task_id \(direction), position LIMIT $\(bindings.count - 1) OFFSET $\(bindings.count)
            """
        let rows = try await connection.rows(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
        return SearchPage(items: try rows.map(DispensationRows.dispensation(from:)), total: total)
    }

    private static func count(_ table: String, _ filter: String, _ bindings: PostgresBindings, on connection: PostgresConnection,
                              logger: Logger) async throws -> Int {
        let rows = try await connection.rows(PostgresQuery(unsafeSQL: "SELECT count(*)::bigint AS total FROM \(table) WHERE \(filter)", binds: bindings),
                                             logger: logger)
        return try rows.first.map { Int(try RowReader($0, table: table).value("total", as: Int64.self)) } ?? 0
    }

    static func proofFailures(of telematikID: TelematikID, day: Int64, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let query: PostgresQuery = "SELECT failures FROM egk_proof_failure WHERE day = \(day) AND telematik_id = \(telematikID.rawValue)"
        return try await connection.rows(query, logger: logger).first.map { try RowReader($0, table: "egk_proof_failure").value("failures", as: Int.self) } ?? 0
    }

    /// One statement counts: `ON CONFLICT DO UPDATE` takes the row's lock, so concurrent failures of
    /// several instances each add one. Earlier days go in the same transaction.
    static func recordProofFailure(of telematikID: TelematikID, day: Int64, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        _ = try await connection.rows("DELETE FROM egk_proof_failure WHERE day < \(day)", logger: logger)
        let rows = try await connection.rows("""
            INSERT INTO egk_proof_failure (day, telematik_id, failures) VALUES (\(day), \(telematikID.rawValue), 1)
            ON CONFLICT (day, telematik_id) DO UPDATE SET failures = egk_proof_failure.failures + 1
            RETURNING failures
            """, logger: logger)
        return try rows.first.map { try RowReader($0, table: "egk_proof_failure").value("failures", as: Int.self) } ?? 0
    }
}

extension PostgreSQLTaskStore: PharmacyReadStore {
    public func worklist(_ query: WorklistQuery) async throws -> SearchPage<PrescriptionTask> {
        try await read { connection, logger in try await PharmacyRows.worklist(query, on: connection, logger: logger) }
    }

    public func dispensationHistory(_ query: DispensationHistoryQuery) async throws -> SearchPage<Dispensation> {
        try await read { connection, logger in try await PharmacyRows.history(query, on: connection, logger: logger) }
    }
}

extension PostgreSQLTaskStore: ProofFailureStore {
    public func proofFailures(of telematikID: TelematikID, day: Int64) async throws -> Int {
        try await read { connection, logger in try await PharmacyRows.proofFailures(of: telematikID, day: day, on: connection, logger: logger) }
    }

    public func recordProofFailure(of telematikID: TelematikID, day: Int64) async throws -> Int {
        try await write { connection, logger in try await PharmacyRows.recordProofFailure(of: telematikID, day: day, on: connection, logger: logger) }
    }
}
