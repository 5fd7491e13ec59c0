import Logging
import PostgresNIO

/// A statement of `update`'s hot path (`$dispense`: lock the task, write it, replace its set,
/// audit, outbox), prepared once per connection: postgres-nio prepares a `PostgresPreparedStatement`
/// under its type's name on first use on each connection, after which an execution only binds,
/// so the server parses and plans these statements once, not on every request.
///
/// The values are bound exactly as for the unprepared statements (the same ``PostgresBindings``
/// builders); every parameter that may be NULL is cast in the SQL, since the first execution on a
/// connection fixes the parameter types and a NULL carries none.
protocol HotPathStatement: PostgresPreparedStatement where Row == PostgresRow {
    var bindings: PostgresBindings { get }
}

extension HotPathStatement {
    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

enum HotPath {
    struct LockTask: HotPathStatement {
        static let sql = "SELECT \(TaskRows.columns) FROM task WHERE id = $1 FOR UPDATE"
        let bindings: PostgresBindings
    }

    struct UpdateTask: HotPathStatement {
        static let sql = """
            UPDATE task SET status = $2, flow_type = $3, kvnr = $4::text, owner = $5::text, access_code = $6::text, secret = $7::text,
                created_at = $8, last_modified = $9, authored_on = $10::text, expiry_date = $11::text, accept_date = $12::text,
                last_medication_dispense = $13::double precision, accepted_at = $14::double precision, completed_at = $15::double precision,
                prescription = CASE WHEN $16::boolean THEN $17::bytea ELSE prescription END,
                receipt = CASE WHEN $18::boolean THEN $19::bytea ELSE receipt END,
                prescription_cms = CASE WHEN $20::boolean THEN $21::bytea ELSE prescription_cms END
            WHERE id = $1
            """
        let bindings: PostgresBindings
    }

    struct DeleteDispensations: HotPathStatement {
        static let sql = "DELETE FROM medication_dispense WHERE task_id = $1"
        let bindings: PostgresBindings
    }

    struct InsertDispensation: HotPathStatement {
        static let sql = """
            INSERT INTO medication_dispense (task_id, position, id, kvnr, when_handed_over, resource, medication, performer)
            VALUES ($1, $2, $3, $4::text, $5::text, $6, $7::bytea, $8::text)
            """
        let bindings: PostgresBindings
    }

    struct InsertAudit: HotPathStatement {
        static let sql = """
            INSERT INTO audit_event (\(AuditRows.columns))
            VALUES ($1, $2::text, $3, $4::text, $5::text, $6::text, $7, $8, $9::text, $10)
            """
        let bindings: PostgresBindings
    }

    struct InsertOutbox: HotPathStatement {
        static let sql = """
            INSERT INTO outbox (task_id, kvnr, operation, payload, created_at, next_attempt_at, status, idempotency_key)
            VALUES ($1, $2, $3, $4, $5, $6, $7::text, $8)
            """
        let bindings: PostgresBindings
    }
}

extension PostgresConnection {
    /// All rows of a prepared statement, collected.
    func rows<Statement: HotPathStatement>(_ statement: Statement, logger: Logger) async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in try await execute(statement, logger: logger) { rows.append(row) }
        return rows
    }
}
