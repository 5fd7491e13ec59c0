import GRDB

/// The numbered migrations of the store's schema. A migration, once released, is never edited:
/// changes go into a new one (`v2`, …), so every existing file upgrades the same way.
///
/// Conventions of every table:
/// - `STRICT`, so SQLite refuses a value of the wrong type instead of storing it;
/// - instants are REAL seconds since 2001-01-01T00:00:00Z (see ``StoredDate`` for why not 1970);
/// - FHIR dates (`authored_on`, `when_handed_over`, …) are their `YYYY-MM-DD` text, which sorts
///   and compares correctly as text;
/// - resources are compact FHIR JSON (BLOB), the lossless wire form the codecs read back exactly.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1", migrate: v1)
        migrator.registerMigration("v2", migrate: v2)
        migrator.registerMigration("v3", migrate: v3)
        migrator.registerMigration("v4", migrate: v4)
        migrator.registerMigration("v5", migrate: v5)
        migrator.registerMigration("v6", migrate: v6)
        migrator.registerMigration("v7", migrate: v7)
        migrator.registerMigration("v8", migrate: v8)
        migrator.registerMigration("v9", migrate: v9)
        migrator.registerMigration("v10", migrate: v10)
        migrator.registerMigration("v11", migrate: v11)
        migrator.registerMigration("v12", migrate: v12)
        return migrator
    }

    /// Tasks, their dispensation sets, the audit trail, and the registry outbox.
    private static func v1(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE task (
                id TEXT NOT NULL PRIMARY KEY,
                status TEXT NOT NULL,
                flow_type INTEGER NOT NULL,
                kvnr TEXT,
                owner TEXT,
                access_code TEXT,
                secret TEXT,
                created_at REAL NOT NULL,
                last_modified REAL NOT NULL,
                authored_on TEXT,
                expiry_date TEXT,
                accept_date TEXT,
                last_medication_dispense REAL,
                accepted_at REAL,
                completed_at REAL,
                prescription BLOB,
                receipt BLOB
            ) STRICT;
            -- An insurant's tasks, newest first.
            CREATE INDEX task_by_kvnr ON task (kvnr, created_at);

            -- One row per MedicationDispense of a task's current set; the primary key
            -- (task_id, position) is also the index the set is read and deleted by.
            CREATE TABLE medication_dispense (
                task_id TEXT NOT NULL REFERENCES task (id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                id TEXT NOT NULL UNIQUE,
                kvnr TEXT,
                when_handed_over TEXT,
                resource BLOB NOT NULL,
                medication BLOB,
                PRIMARY KEY (task_id, position)
            ) STRICT;
            -- The insurant's MedicationDispense search, newest handover first.
            CREATE INDEX medication_dispense_by_kvnr ON medication_dispense (kvnr, when_handed_over);

            -- Append-only: no foreign key, so the trail never depends on the task row's fate.
            CREATE TABLE audit_event (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                task_id TEXT NOT NULL,
                action TEXT NOT NULL,
                agent_profession TEXT NOT NULL,
                agent_id TEXT,
                kvnr TEXT,
                recorded REAL NOT NULL
            ) STRICT;
            CREATE INDEX audit_event_by_task ON audit_event (task_id, id);
            CREATE INDEX audit_event_by_kvnr ON audit_event (kvnr, recorded);

            -- Registry transfers (ARCHITECTURE decision 6), written in the same transaction as the
            -- change they report and drained by the relay (columns added in v2).
            CREATE TABLE outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                task_id TEXT NOT NULL,
                kvnr TEXT,
                operation TEXT NOT NULL,
                payload BLOB,
                created_at REAL NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                state TEXT NOT NULL DEFAULT 'pending',
                next_attempt_at REAL
            ) STRICT;
            CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
            """)
    }

    /// The registry side (ARCHITECTURE decisions 5 and 6): objections, what the outbox needs to send
    /// in order and exactly once, and the transfer log.
    private static func v2(_ db: Database) throws {
        try db.execute(sql: """
            -- A row is an objection: the insurant is locked while any of theirs exists.
            CREATE TABLE objection (
                kvnr TEXT NOT NULL,
                source TEXT NOT NULL,
                category TEXT NOT NULL,
                since REAL NOT NULL,
                PRIMARY KEY (kvnr, source, category)
            ) STRICT, WITHOUT ROWID;

            ALTER TABLE outbox ADD COLUMN status TEXT;
            ALTER TABLE outbox ADD COLUMN idempotency_key TEXT;
            ALTER TABLE outbox ADD COLUMN last_error TEXT;
            ALTER TABLE outbox ADD COLUMN settled_at REAL;
            CREATE UNIQUE INDEX outbox_by_idempotency_key ON outbox (idempotency_key);
            -- The relay reads pending rows in write order, and asks per insurant whether one waits.
            CREATE INDEX outbox_by_state ON outbox (state, id);
            CREATE INDEX outbox_by_kvnr ON outbox (kvnr, state, next_attempt_at);

            -- What became of each transfer (sent, retried, dead, paused, dropped) and why.
            CREATE TABLE outbox_event (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                outbox_id INTEGER,
                kvnr TEXT,
                outcome TEXT NOT NULL,
                detail TEXT,
                recorded REAL NOT NULL
            ) STRICT;
            CREATE INDEX outbox_event_by_outbox_id ON outbox_event (outbox_id);
            """)
    }

    /// The outbox indexes hold only the rows the relay still has to look at. Every `$dispense`
    /// inserts an outbox row and the relay settles it soon after; with full indexes on `state`
    /// each settlement moved the row within three indexes, so the outbox wrote more pages than the
    /// dispensation itself. Partial indexes drop a settled row and never take it back.
    private static func v3(_ db: Database) throws {
        try db.execute(sql: """
            DROP INDEX outbox_due;
            DROP INDEX outbox_by_state;
            DROP INDEX outbox_by_kvnr;
            -- Pending rows in write order; covering for the count and the oldest age.
            CREATE INDEX outbox_pending ON outbox (id, created_at) WHERE state = 'pending';
            -- Whether an insurant has a pending row not yet due.
            CREATE INDEX outbox_pending_by_kvnr ON outbox (kvnr, next_attempt_at) WHERE state = 'pending';
            -- Dead letters, for the gauge (rare, and they stay until someone resolves them).
            CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead';
            """)
    }

    /// Every page a write touches is written again by its commit (WAL), and a write's cost is
    /// mostly its commit: so an index on a column that is random per row (an insurant, a random
    /// key) costs a page per write. This drops the two such indexes a `$dispense` touched without
    /// need:
    /// - `audit_event_by_kvnr`: no query reads it (an insurant's audit search would bring it back);
    /// - `outbox_pending_by_kvnr`: the relay only asks which insurants have a transfer that is not
    ///   due yet, and only a retried or paused row is ever due later than it was written. The new
    ///   index holds just those rows, so a fresh transfer enters none keyed by insurant.
    private static func v4(_ db: Database) throws {
        try db.execute(sql: """
            DROP INDEX audit_event_by_kvnr;
            DROP INDEX outbox_pending_by_kvnr;
            CREATE INDEX outbox_deferred_by_kvnr ON outbox (kvnr, next_attempt_at)
                WHERE state = 'pending' AND next_attempt_at > created_at;
            """)
    }

    /// The relay serves insurants by their oldest pending transfer and takes a call's worth of each
    /// (`OutboxRows.dueInsurants`), so it groups pending rows by insurant. With the insurant in the
    /// pending index that grouping reads the index alone, not every pending row with its payload
    /// (`state` too: SQLite does not count the index's condition as a covered column).
    /// The index stays keyed by id first, so a new transfer still only appends to its last page.
    private static func v5(_ db: Database) throws {
        try db.execute(sql: """
            DROP INDEX outbox_pending;
            CREATE INDEX outbox_pending ON outbox (id, created_at, kvnr, state) WHERE state = 'pending';
            """)
    }

    /// The insurant reads the audit trail as AuditEvents (A_19395…A_19402): each entry gets the id
    /// it is read by (a time-ordered UUID; existing rows get random ones), the caller's name, the
    /// representative and failure flags; it may name no task (a search over several) and no
    /// profession (the service's own registry transfers, A_25962).
    ///
    /// SQLite cannot relax `task_id NOT NULL` in place, so the table is rebuilt, keeping the row
    /// ids (and with them the AUTOINCREMENT sequence). The insurant's entries are found through
    /// the task table's `task_by_kvnr` and, for the few without a task, a partial index: an index
    /// on the insurant for every entry would cost a page write per `$dispense` (see v4).
    private static func v6(_ db: Database) throws {
        let randomUUID = """
            lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-'
                || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))
            """
        try db.execute(sql: """
            CREATE TABLE audit_event_v6 (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id TEXT NOT NULL UNIQUE,
                task_id TEXT,
                action TEXT NOT NULL,
                agent_profession TEXT,
                agent_id TEXT,
                agent_name TEXT,
                representative INTEGER NOT NULL DEFAULT 0,
                failed INTEGER NOT NULL DEFAULT 0,
                kvnr TEXT,
                recorded REAL NOT NULL
            ) STRICT;
            INSERT INTO audit_event_v6 (id, event_id, task_id, action, agent_profession, agent_id, kvnr, recorded)
                SELECT id, \(randomUUID), task_id, action, agent_profession, agent_id, kvnr, recorded FROM audit_event;
            DROP TABLE audit_event;
            ALTER TABLE audit_event_v6 RENAME TO audit_event;
            CREATE INDEX audit_event_by_task ON audit_event (task_id, id);
            CREATE INDEX audit_event_without_task_by_kvnr ON audit_event (kvnr, id) WHERE task_id IS NULL;
            """)
    }

    /// The prescriber's CMS SignedData as uploaded at `$activate`, so pharmacies receive the QES
    /// unchanged (A_19169-01); NULL for tasks activated unsigned, and for those activated before.
    private static func v7(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE task ADD COLUMN prescription_cms BLOB")
    }

    /// Relay claims (issue 21): the insurant a relay serves, and until when. Several erx processes
    /// may drain one outbox; a row exists only while a relay serves the insurant (or until a killed
    /// relay's claim is taken over).
    private static func v8(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE outbox_claim (
                kvnr TEXT NOT NULL PRIMARY KEY,
                holder TEXT NOT NULL,
                until REAL NOT NULL
            ) STRICT, WITHOUT ROWID;
            """)
    }

    /// Messages (`/Communication`, fd-messaging-transport §1.10): read by "sender = me OR
    /// recipient = me" (two indexes, ids in `sent` order), deleted by task at `$abort`, and counted
    /// by task for the Representative limit.
    private static func v9(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE communication (
                id TEXT NOT NULL PRIMARY KEY,
                kind TEXT NOT NULL,
                profile_version TEXT NOT NULL,
                task_id TEXT NOT NULL,
                sender TEXT NOT NULL,
                recipient TEXT NOT NULL,
                sent REAL NOT NULL,
                received REAL,
                resource BLOB NOT NULL
            ) STRICT;
            CREATE INDEX communication_by_sender ON communication (sender, id);
            CREATE INDEX communication_by_recipient ON communication (recipient, id);
            CREATE INDEX communication_by_task ON communication (task_id, kind);
            """)
    }

    /// Webhooks (issue 23, item 3; ARCHITECTURE decision 13): rest-hook subscriptions of pharmacies,
    /// their deliveries (a second outbox, written in the transaction of the change that causes
    /// them), and the relay claims on subscriptions. The secret is kept as given: it signs every
    /// delivery, so it cannot be stored as a hash.
    private static func v10(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE webhook_subscription (
                id TEXT NOT NULL PRIMARY KEY,
                owner TEXT NOT NULL,
                criteria TEXT NOT NULL,
                endpoint TEXT NOT NULL,
                payload TEXT,
                secret TEXT NOT NULL,
                reason TEXT,
                created_at REAL NOT NULL
            ) STRICT;
            CREATE INDEX webhook_subscription_by_owner ON webhook_subscription (owner, created_at);

            CREATE TABLE webhook_delivery (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                subscription_id TEXT NOT NULL,
                idempotency_key TEXT NOT NULL UNIQUE,
                event TEXT NOT NULL,
                body BLOB NOT NULL,
                created_at REAL NOT NULL,
                next_attempt_at REAL NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                state TEXT NOT NULL DEFAULT 'pending',
                last_error TEXT,
                settled_at REAL
            ) STRICT;
            -- Only rows the relay still has to look at, by subscription in write order.
            CREATE INDEX webhook_delivery_pending ON webhook_delivery (subscription_id, id) WHERE state = 'pending';
            CREATE INDEX webhook_delivery_dead ON webhook_delivery (id) WHERE state = 'dead';

            CREATE TABLE webhook_claim (
                subscription_id TEXT NOT NULL PRIMARY KEY,
                holder TEXT NOT NULL,
                until REAL NOT NULL
            ) STRICT, WITHOUT ROWID;
            """)
    }

    /// The BfArM carbon copies of closed T-Rezepte (A_27828; ARCHITECTURE decision 13): a third
    /// outbox, written in the `$close` transaction. Copies keep no order among themselves, so each
    /// row carries its own claim (`claimed_by` until `claimed_until`) instead of a claim table.
    private static func v11(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE carbon_copy (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                task_id TEXT NOT NULL,
                idempotency_key TEXT NOT NULL UNIQUE,
                body BLOB NOT NULL,
                created_at REAL NOT NULL,
                next_attempt_at REAL NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                state TEXT NOT NULL DEFAULT 'pending',
                claimed_by TEXT,
                claimed_until REAL,
                last_error TEXT,
                settled_at REAL
            ) STRICT;
            CREATE INDEX carbon_copy_pending ON carbon_copy (next_attempt_at, id) WHERE state = 'pending';
            CREATE INDEX carbon_copy_dead ON carbon_copy (id) WHERE state = 'dead';
            """)
    }

    /// Issue 24 (ours, beyond the FD): a pharmacy's worklist and dispensation history, read page by
    /// page in SQL, and the daily eGK lock shared by every process on the database (A_27445,
    /// A_27446). Needs nothing of v11.
    ///
    /// - `task_by_owner` holds owned tasks only (ready tasks have none), by status and acceptance:
    ///   `$accept`, `$close`, `$reject` and `$abort` move an entry, a repeated `$dispense` none
    ///   (``TaskRows`` assigns the columns only when they change).
    /// - `medication_dispense.performer`: the pharmacy that dispensed (every performer of a set is
    ///   the caller, and the caller is the task's owner); the existing rows take their task's owner.
    /// - `egk_proof_failure`: one row per pharmacy that failed a proof today; keyed by day first,
    ///   so removing earlier days reads the key's first pages only.
    private static func v12(_ db: Database) throws {
        try db.execute(sql: """
            CREATE INDEX task_by_owner ON task (owner, status, accepted_at) WHERE owner IS NOT NULL;

            ALTER TABLE medication_dispense ADD COLUMN performer TEXT;
            UPDATE medication_dispense SET performer = (SELECT owner FROM task WHERE task.id = medication_dispense.task_id);
            CREATE INDEX medication_dispense_by_performer ON medication_dispense (performer, when_handed_over)
                WHERE performer IS NOT NULL;

            CREATE TABLE egk_proof_failure (
                day INTEGER NOT NULL,
                telematik_id TEXT NOT NULL,
                failures INTEGER NOT NULL,
                PRIMARY KEY (day, telematik_id)
            ) STRICT, WITHOUT ROWID;
            """)
    }
}

extension SQLiteTaskStore {
    /// A database file migrated only through `identifier`, with `sql` run on it: for tests of a
    /// later migration against the rows an earlier version wrote.
    package static func legacyDatabase(at path: String, through identifier: String, then sql: String) throws {
        let queue = try DatabaseQueue(path: path)
        try Schema.migrator.migrate(queue, upTo: identifier)
        try queue.write { db in try db.execute(sql: sql) }
        try queue.close()
    }
}
