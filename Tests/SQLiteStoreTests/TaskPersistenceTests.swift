import Dispensing
import FHIRModel
import Foundation
import SQLiteStore
import StoreTestSupport
import Testing

/// What goes into the file comes back out equal, survives a restart, and is written durably.
@Suite struct TaskPersistenceTests {
    @Test(arguments: StoreKind.allCases) func insertedTaskReadsBackEqualInEveryField(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let id = Fixtures.prescriptionID(1)
            var task = Fixtures.task(id)
            task.status = .completed
            task.lastMedicationDispense = Fixtures.created.addingTimeInterval(90.25)
            task.completedAt = Fixtures.created.addingTimeInterval(120.999)
            task.receipt = Fixtures.receipt(id)
            task.signedPrescription = [0x30, 0x80, 0x06, 0x09] + Array(repeating: 0xA5, count: 300)

            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))

            let stored = try #require(try await store.task(id))
            #expect(stored == task)
            #expect(stored.prescription == Fixtures.prescriptionBundle(id))
            #expect(stored.secret == Fixtures.secret)
            #expect(try await store.auditTrail(of: id) == [Fixtures.createAudit(task)])
        }
    }

    @Test(arguments: StoreKind.allCases) func draftWithoutOptionalFieldsReadsBackEqual(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let draft = PrescriptionTask(id: Fixtures.prescriptionID(2), status: .draft, accessCode: nil, createdAt: Fixtures.created)
            #expect(try await store.insert(draft, audit: Fixtures.createAudit(draft)))
            #expect(try await store.task(draft.id) == draft)
        }
    }

    /// `Date()` carries bits that seconds since 1970 cannot hold; the store must keep them all.
    @Test(arguments: StoreKind.allCases) func instantsFromTheSystemClockRoundTripExactly(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            for number in 0..<20 {
                var task = Fixtures.task(Fixtures.prescriptionID(100 + number), created: Date())
                task.lastModified = Date()
                task.acceptedAt = Date()
                #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
                #expect(try await store.task(task.id) == task)
            }
        }
    }

    @Test(arguments: StoreKind.allCases) func duplicateIDIsRefusedWithoutTouchingTheStoredTask(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let task = Fixtures.task(Fixtures.prescriptionID(3))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))

            var other = Fixtures.task(task.id, kvnr: Fixtures.otherKVNR)
            other.status = .ready
            #expect(try await store.insert(other, audit: Fixtures.createAudit(other)) == false)

            #expect(try await store.task(task.id) == task)
            #expect(try await store.auditTrail(of: task.id).count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases) func unknownIDReadsAsNothing(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let id = Fixtures.prescriptionID(4)
            #expect(try await store.task(id) == nil)
            #expect(try await store.dispensations(of: id).isEmpty)
            #expect(try await store.auditTrail(of: id).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases) func tasksOfAnInsurantComeNewestFirst(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let older = Fixtures.task(Fixtures.prescriptionID(5), created: Fixtures.created)
            let newer = Fixtures.task(Fixtures.prescriptionID(6), created: Fixtures.created.addingTimeInterval(3600))
            let someoneElses = Fixtures.task(Fixtures.prescriptionID(7), kvnr: Fixtures.otherKVNR)
            for task in [older, newer, someoneElses] {
                #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            }
            #expect(try await store.tasks(of: Fixtures.kvnr) == [newer, older])
            #expect(try await store.tasks(of: Fixtures.otherKVNR) == [someoneElses])
        }
    }

    @Test func writerRunsWithFullSynchronousWALAndForeignKeys() async throws {
        try await withTemporaryStore { store async throws in
            let pragmas = try await store.writerPragmas()
            #expect(pragmas.synchronous == 2)
            #expect(pragmas.journalMode == "wal")
            #expect(pragmas.foreignKeys)
            // The background checkpointer does the copying; the writer's is the backstop.
            #expect(pragmas.walAutocheckpoint == 8_000)
        }
    }

    @Test func dataSurvivesClosingAndReopeningTheFile() async throws {
        try await withTemporaryDirectory { directory async throws in
            let path = Fixtures.databasePath(in: directory)
            let task = Fixtures.task(Fixtures.prescriptionID(8))
            let set = Fixtures.dispensationSet(task.id, size: 2, writer: 1)
            let dispensed = Fixtures.audit(.dispense, task.id, at: Fixtures.created.addingTimeInterval(100))
            do {
                let store = try SQLiteTaskStore(path: path)
                #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
                try await store.update(task: task.id) { current in
                    (TaskChange(task: current, dispensations: .replace(set), audit: dispensed), ())
                }
                try await store.close()
            }
            let reopened = try SQLiteTaskStore(path: path)
            #expect(try await reopened.task(task.id) == task)
            #expect(try await reopened.dispensations(of: task.id) == set)
            #expect(try await reopened.auditTrail(of: task.id) == [Fixtures.createAudit(task), dispensed])
            try await reopened.close()
        }
    }

    @Test func writesAfterCloseAreRefused() async throws {
        try await withTemporaryDirectory { directory async throws in
            let store = try SQLiteTaskStore(path: Fixtures.databasePath(in: directory))
            try await store.close()
            let task = Fixtures.task(Fixtures.prescriptionID(9))
            await #expect(throws: SQLiteStoreError.closed) {
                try await store.insert(task, audit: Fixtures.createAudit(task))
            }
        }
    }

    /// The same damage in each store's SQL: `{}` as a blob literal is SQLite's `X'7B7D'` and
    /// PostgreSQL's `'\x7b7d'::bytea`.
    @Test(arguments: StoreKind.allCases, [
        ("UPDATE task SET kvnr = 'not-a-kvnr'", "kvnr"),
        ("UPDATE task SET status = 'paused'", "status"),
        ("UPDATE task SET secret = 'short'", "secret"),
        ("UPDATE task SET prescription = X'7B7D'", "prescription"),
    ])
    func corruptColumnThrowsAnErrorNamingIt(kind: StoreKind, damage: (sql: String, column: String)) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let task = Fixtures.task(Fixtures.prescriptionID(10))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            let sql = kind == .postgresql ? damage.sql.replacingOccurrences(of: "X'7B7D'", with: #"'\x7b7d'::bytea"#) : damage.sql
            try await store.executeUnchecked(sql: sql)
            let error = await #expect(throws: (any Error).self) { try await store.task(task.id) }
            #expect(error.map { isCorruptRow($0, table: "task", column: damage.column) } == true, "\(String(describing: error))")
        }
    }

    /// Tools beside a server open only a database that exists, at exactly this build's schema.
    @Test func existingOpensOnlyADatabaseOfThisSchema() async throws {
        try await withTemporaryDirectory { directory async throws in
            let path = Fixtures.databasePath(in: directory)
            #expect(throws: SQLiteStoreError.noDatabase) { try SQLiteTaskStore.existing(at: path) }
            #expect(!FileManager.default.fileExists(atPath: path))
            let store = try SQLiteTaskStore(path: path)
            try await store.close()
            try await SQLiteTaskStore.existing(at: path).close()
            let newer = try SQLiteTaskStore(path: path)
            try await newer.executeUnchecked(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')")
            try await newer.close()
            #expect(throws: SQLiteStoreError.otherSchemaVersion) { try SQLiteTaskStore.existing(at: path) }
        }
    }
}

/// Migration v6: the audit rows an earlier version wrote become AuditEvents with an id.
@Suite struct AuditMigrationTests {
    @Test func earlierAuditRowsGetIDsAndStayReadable() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("erx-v5-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let id = Fixtures.prescriptionID(70)
        try SQLiteTaskStore.legacyDatabase(at: path, through: "v5", then: """
            INSERT INTO task (id, status, flow_type, kvnr, created_at, last_modified) VALUES ('\(id.rawValue)', 'ready', 160, '\(Fixtures.kvnr.rawValue)', 0, 0);
            INSERT INTO audit_event (task_id, action, agent_profession, agent_id, kvnr, recorded)
                VALUES ('\(id.rawValue)', 'activate', '1.2.276.0.76.4.50', '1-HBA-Testkarte-883110000095959', '\(Fixtures.kvnr.rawValue)', 10);
            """)
        let store = try SQLiteTaskStore(path: path)
        let entries = try await store.auditEntries(of: Fixtures.kvnr)
        #expect(entries.count == 1)
        let entry = try #require(entries.first)
        #expect(UUID(uuidString: entry.id) != nil)
        #expect(entry.entry.action == .activate && entry.entry.prescriptionID == id && entry.entry.agentProfession == .doctorsPractice)
        #expect(!entry.entry.representative && !entry.entry.failed && entry.entry.agentName == nil)
        #expect(try await store.auditEntry(entry.id, of: Fixtures.kvnr) == entry)
        #expect(try await store.auditEntry(entry.id, of: Fixtures.otherKVNR) == nil)
        try await store.close()
    }
}
