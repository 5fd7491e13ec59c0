public import Dispensing
public import Foundation
import GRDB

/// The embedded `TaskStore`: one SQLite file in WAL mode, durable commits (`synchronous=FULL`),
/// concurrent reads from a pool of reader connections, and all writes through one
/// ``GroupCommitWriter`` so concurrent requests share their commits.
///
/// The single writer is also the row lock the port asks for: `update` reads the task, lets the
/// rule decide and writes the change inside the writer's transaction, so no other write of the
/// same task can come in between.
public final class SQLiteTaskStore: TaskStore {
    let pool: DatabasePool
    let writer: GroupCommitWriter
    private let checkpointer: WALCheckpointer
    /// The writer's decoded prescriptions (see ``DecodedResourceCache``): 512 tasks in dispensing.
    private let prescriptions = DecodedResourceCache(capacity: 512)

    /// How many writes the background checkpointer lets pass between its checkpoints (about 300
    /// WAL pages at three pages per `$dispense`). Small passes keep each fsync of the database file
    /// short, and a commit's fsync waits behind it: measured with `scripts/bench-dispense.sh`, p99
    /// 7.8 / 9.0 ms (JSON / XML) at 100, 11.9 / 15.5 ms at 300, 18.4 / 32.8 ms at 1,500, at about
    /// the same throughput.
    static let checkpointInterval = 100
    /// The WAL size (in pages, copied or not) past which the writer checkpoints after its commits,
    /// as a backstop: the background passes leave it the last frames to copy, and under steady load
    /// a checkpoint on the writer (no write can come in between) is what lets the WAL start over.
    /// 32 MB of WAL at 4 KB pages.
    static let writerCheckpointPages = 8_000

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    public convenience init(path: String) throws {
        try self.init(path: path, migrating: true)
    }

    /// As ``init(path:)``, with the background checkpoint every `checkpointInterval` writes
    /// (tests make it run after a few).
    package convenience init(path: String, checkpointInterval: Int) throws {
        try self.init(path: path, migrating: true, checkpointInterval: checkpointInterval)
    }

    /// Opens the database at `path` only if it exists and has exactly the schema of this build:
    /// for tools run beside a server, which must neither create a database where a wrong path
    /// points nor migrate one under a server of another version.
    public static func existing(at path: String) throws -> SQLiteTaskStore {
        guard FileManager.default.fileExists(atPath: path) else { throw SQLiteStoreError.noDatabase }
        return try SQLiteTaskStore(path: path, migrating: false)
    }

    private init(path: String, migrating: Bool, checkpointInterval: Int = checkpointInterval) throws {
        var configuration = Configuration()
        configuration.label = "erx.SQLiteTaskStore"
        configuration.foreignKeysEnabled = true
        // Waits for another process holding the write lock (a backup, the sqlite3 shell) instead
        // of failing at once; our own writes never contend, there is one writer.
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA synchronous = FULL") }
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        // GRDB's pool switches the writer to WAL *after* `prepareDatabase` and sets
        // `synchronous=NORMAL` with it, which may lose the last commits on a power loss. The writer
        // connection lives as long as the pool, so setting FULL again once here is enough; the
        // check makes a SQLite build that ignores it fail loudly instead of silently.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Self.writerCheckpointPages)")
            let level = try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
            guard level == 2 else { throw SQLiteStoreError.durabilityUnavailable(synchronous: level) }
        }
        if migrating {
            try Schema.migrator.migrate(pool)
        } else {
            let current = try pool.read { db in
                try Schema.migrator.hasCompletedMigrations(db) && !Schema.migrator.hasBeenSuperseded(db)
            }
            guard current else { throw SQLiteStoreError.otherSchemaVersion }
        }
        let checkpointer = try WALCheckpointer(path: path, interval: checkpointInterval)
        self.checkpointer = checkpointer
        writer = GroupCommitWriter(pool: pool, afterBatch: { checkpointer.committed(writes: $0) })
    }

    /// Commits the writes already submitted, refuses new ones, and closes the connections. Reads
    /// after this throw. Optional: the connections also close when the store is released.
    public func close() async throws {
        await writer.close()
        // The pool closes even when the checkpointer's connection would not; the first error wins.
        let checkpointerClosed = Result { try checkpointer.close() }
        try pool.close()
        try checkpointerClosed.get()
    }

    public func insert(_ task: PrescriptionTask, audit: AuditEntry) async throws -> Bool {
        let row = try TaskRows.insertArguments(of: task)
        return try await writer.submit { db in
            do {
                try TaskRows.insert(row, in: db)
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
                return false
            }
            try AuditRows.insert(audit, in: db)
            return true
        }
    }

    public func update<Outcome: Sendable>(
        _ id: PrescriptionID,
        _ decide: @escaping @Sendable (TaskSnapshot) throws -> (TaskChange, Outcome)
    ) async throws -> Outcome {
        let prescriptions = self.prescriptions
        return try await writer.submit { db in
            guard let task = try TaskRows.fetch(id, in: db, prescriptions: prescriptions) else { throw DispensingError.taskNotFound }
            let snapshot = TaskSnapshot(
                task: task,
                objections: { kvnr in try ObjectionRows.fetchAll(of: kvnr, in: db) },
                dispensations: { try DispensationRows.fetchAll(of: id, in: db) }
            )
            let (change, outcome) = try decide(snapshot)
            guard change.task.id == id else { throw SQLiteStoreError.changeOfAnotherTask }
            try TaskRows.update(change.task, replacing: task, in: db)
            // `$abort` deletes the prescription: its decoding leaves memory with it.
            if change.task.prescription == nil { prescriptions.forget(id.rawValue) }
            try DispensationRows.apply(change.dispensations, of: change.task, in: db)
            if change.deleteCommunications { try CommunicationRows.deleteAll(of: id, in: db) }
            try AuditRows.insert(change.audit, in: db)
            if let transfer = change.transfer { try OutboxRows.insert(transfer, at: change.audit.recorded, in: db) }
            try WebhookRows.enqueue(change.events, at: change.audit.recorded, in: db)
            if let copy = change.carbonCopy { try CarbonCopyRows.insert(copy, at: change.audit.recorded, in: db) }
            return outcome
        }
    }

    public func task(_ id: PrescriptionID) async throws -> PrescriptionTask? {
        try await pool.read { db in try TaskRows.fetch(id, in: db) }
    }

    public func tasks(of kvnr: KVNR) async throws -> [PrescriptionTask] {
        try await pool.read { db in try TaskRows.fetchAll(of: kvnr, in: db) }
    }

    public func dispensations(of id: PrescriptionID) async throws -> [Dispensation] {
        try await pool.read { db in try DispensationRows.fetchAll(of: id, in: db) }
    }

    public func dispensationSets(of kvnr: KVNR) async throws -> [DispensationSet] {
        try await pool.read { db in try DispensationRows.sets(of: kvnr, in: db) }
    }

    public func auditTrail(of id: PrescriptionID) async throws -> [AuditEntry] {
        try await pool.read { db in try AuditRows.fetchAll(of: id, in: db) }
    }

    public func record(_ audit: [AuditEntry]) async throws {
        guard !audit.isEmpty else { return }
        try await writer.submit { db in
            for entry in audit { try AuditRows.insert(entry, in: db) }
        }
    }

    public func auditEntries(of kvnr: KVNR) async throws -> [StoredAuditEntry] {
        try await pool.read { db in try AuditRows.fetchAll(of: kvnr, in: db) }
    }

    public func auditEntry(_ id: String, of kvnr: KVNR) async throws -> StoredAuditEntry? {
        try await pool.read { db in try AuditRows.fetch(id, of: kvnr, in: db) }
    }

    public func objections(of kvnr: KVNR) async throws -> [Objection] {
        try await pool.read { db in try ObjectionRows.fetchAll(of: kvnr, in: db) }
    }

    public func objections(of kvnrs: Set<KVNR>) async throws -> [KVNR: [Objection]] {
        guard !kvnrs.isEmpty else { return [:] }
        return try await pool.read { db in try ObjectionRows.fetchAll(of: kvnrs, in: db) }
    }

    public func record(_ objection: Objection) async throws {
        try await writer.submit { db in try ObjectionRows.upsert(objection, in: db) }
    }

    @discardableResult
    public func liftObjections(of kvnr: KVNR, sources: Set<ObjectionSource>, category: ObjectionCategory?, recordedBefore: Date?) async throws -> Int {
        try await writer.submit { db in try ObjectionRows.delete(of: kvnr, sources: sources, category: category, recordedBefore: recordedBefore, in: db) }
    }
}

extension SQLiteTaskStore: OutboxStore {
    /// Without a claim a read on the pool; with one, the read and the claim are one write
    /// transaction, so no other process's relay can claim an insurant in between.
    public func dueInsurants(now: Date, insurants: Int, perInsurant: Int, readyBefore: Date, excluding: Set<KVNR>,
                             claim: RelayClaim?) async throws -> DueTransfers {
        guard let claim else {
            return try await pool.read { db in
                try OutboxRows.dueInsurants(now: now, insurants: insurants, perInsurant: perInsurant, readyBefore: readyBefore,
                                            excluding: excluding, holder: nil, in: db)
            }
        }
        return try await writer.submit { db in
            var due = try OutboxRows.dueInsurants(now: now, insurants: insurants, perInsurant: perInsurant, readyBefore: readyBefore,
                                                  excluding: excluding, holder: claim.holder, in: db)
            let claimed = try OutboxRows.claim(Set(due.entries.map(\.kvnr)), holder: claim.holder, now: now,
                                               until: now.addingTimeInterval(claim.duration), in: db)
            due.entries.removeAll { !claimed.contains($0.kvnr) }
            return due
        }
    }

    public func renewClaims(_ kvnrs: Set<KVNR>, claim: RelayClaim, now: Date) async throws -> Set<KVNR> {
        guard !kvnrs.isEmpty else { return [] }
        return try await writer.submit { db in
            try OutboxRows.renewClaims(kvnrs, holder: claim.holder, until: now.addingTimeInterval(claim.duration), in: db)
        }
    }

    public func releaseClaims(_ kvnrs: Set<KVNR>, holder: String) async throws {
        guard !kvnrs.isEmpty else { return }
        try await writer.submit { db in try OutboxRows.releaseClaims(kvnrs, holder: holder, in: db) }
    }

    public func settle(_ settlements: [OutboxSettlement], at now: Date) async throws {
        guard !settlements.isEmpty else { return }
        try await writer.submit { db in
            for settlement in settlements { try OutboxRows.settle(settlement, at: now, in: db) }
        }
    }

    public func outboxStatistics() async throws -> OutboxStatistics {
        try await pool.read { db in try OutboxRows.statistics(in: db) }
    }
}

extension SQLiteTaskStore: DeadLetterStore {
    public func deadLetters() async throws -> [DeadLetter] {
        try await pool.read { db in try DeadLetterRows.deadLetters(in: db) }
    }

    public func requeue(_ id: Int64, at now: Date) async throws -> RequeueOutcome {
        let checked = try await pool.read { db in try DeadLetterRows.check(id, in: db) }
        return try await writer.submit { db in try DeadLetterRows.requeue(id, at: now, checked: checked, in: db) }
    }
}

extension SQLiteTaskStore {
    /// How often the writer reused a decoded prescription, and how often it decoded one.
    package var prescriptionCacheStatistics: (hits: Int, decodes: Int) { prescriptions.statistics }

    /// How often the background checkpointer copied the WAL into the database file.
    package var walCheckpointStatistics: WALCheckpointStatistics { checkpointer.statistics }

    /// How many transactions the writes so far took (tests prove group commit with it; a
    /// metrics endpoint may export it).
    package func groupCommitStatistics() async -> GroupCommitStatistics {
        writer.statistics
    }

    /// `PRAGMA synchronous`, `journal_mode`, `foreign_keys` and `wal_autocheckpoint` as the writer
    /// connection has them.
    package func writerPragmas() async throws -> (synchronous: Int, journalMode: String, foreignKeys: Bool, walAutocheckpoint: Int) {
        try await pool.writeWithoutTransaction { db in
            (
                try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1,
                try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "",
                try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") ?? false,
                try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") ?? -1
            )
        }
    }

    /// Runs SQL on the writer connection, past the writer's queue and every check of this store:
    /// only for tests that damage rows on purpose.
    package func executeUnchecked(sql: String) async throws {
        try await pool.writeWithoutTransaction { db in try db.execute(sql: sql) }
    }

    /// The first column of each row of a query, as text: for tests that look at what no port shows.
    package func readUnchecked(sql: String) async throws -> [String?] {
        try await pool.read { db in try String?.fetchAll(db, sql: sql) }
    }
}
