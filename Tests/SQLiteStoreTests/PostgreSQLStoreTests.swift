import Dispensing
import FHIRModel
import Foundation
import PostgreSQLStore
import StoreTestSupport
import Testing

/// What only the PostgreSQL store has: migrations shared by several instances, row locks across
/// connections, claims raced by several relays, bounded waits, and a configuration that keeps its
/// password to itself. (The port's behaviour is tested on both stores by the other suites.)
@Suite struct PostgreSQLStoreTests {
    private func open(_ configuration: PostgreSQLStoreConfiguration, migrating: Bool = true) async throws -> PostgreSQLTaskStore {
        try await PostgreSQLTaskStore.open(configuration, logger: TestPostgres.logger, migrating: migrating)
    }

    @Test func storesOpeningAtOnceMigrateOnce() async throws {
        try await TestPostgres.withFreshDatabase { configuration in
            let stores = try await withThrowingTaskGroup(of: PostgreSQLTaskStore.self) { group in
                for _ in 0..<4 { group.addTask { try await open(configuration) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(stores.count == 4)
            #expect(try await stores[0].readUnchecked(sql: "SELECT version FROM erx_schema_migration ORDER BY version") == ["1", "9", "10", "11", "12"])
            for store in stores { await store.close() }
        }
    }

    @Test func openingWithoutMigratingRefusesADatabaseOfAnotherSchema() async throws {
        try await TestPostgres.withFreshDatabase { configuration in
            await #expect(throws: PostgreSQLStoreError.otherSchemaVersion(found: nil, expected: 12)) {
                try await open(configuration, migrating: false)
            }
            let migrated = try await open(configuration)
            await migrated.close()
            let current = try await open(configuration, migrating: false)
            try await current.executeUnchecked(sql: "INSERT INTO erx_schema_migration (version) VALUES (99)")
            await current.close()
            await #expect(throws: PostgreSQLStoreError.otherSchemaVersion(found: 99, expected: 12)) {
                try await open(configuration, migrating: false)
            }
            // Nor does a migrating open touch a database a newer build migrated.
            await #expect(throws: PostgreSQLStoreError.otherSchemaVersion(found: 99, expected: 12)) {
                try await open(configuration)
            }
        }
    }

    /// Twenty `update`s of one task at once, each appending to the set it reads: serialised by the
    /// row lock, each sees the one before, so the set ends with all twenty (a lost update would
    /// leave fewer; two seeing the same set would clash on a MedicationDispense id).
    @Test func concurrentUpdatesOfOneTaskSeeEachOther() async throws {
        try await withTemporaryStore(.postgresql) { store async throws in
            let task = Fixtures.task(Fixtures.prescriptionID(90))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 1...20 {
                    group.addTask {
                        try await store.update(task.id) { snapshot in
                            let current = try snapshot.dispensations()
                            let next = current + [Fixtures.dispensation(task.id, position: current.count, writer: writer)]
                            return (TaskChange(task: snapshot.task, dispensations: .replace(next), audit: Fixtures.audit(.dispense, task.id, at: Fixtures.created)), ())
                        }
                    }
                }
                try await group.waitForAll()
            }
            let stored = try await store.dispensations(of: task.id)
            #expect(stored.count == 20)
            #expect(Set(stored.compactMap(Fixtures.writerTag(of:))) == Set(1...20))
            #expect(try await store.auditTrail(of: task.id).count == 21)
        }
    }

    /// Eight relays asking at once for the same twenty insurants: each insurant goes to one of them.
    @Test func relaysRacingForInsurantsNeverShareOne() async throws {
        try await withTemporaryStore(.postgresql) { store async throws in
            let kvnrs = (1...20).map { KVNR(String(format: "K%09d", $0))! }
            for (number, kvnr) in kvnrs.enumerated() {
                try await OutboxTests.write(store, Fixtures.prescriptionID(200 + number), kvnr: kvnr, keys: ["k\(number)"])
            }
            let now = Date()
            let served = try await withThrowingTaskGroup(of: (String, [KVNR]).self) { group in
                for relay in 0..<8 {
                    group.addTask {
                        let claim = RelayClaim(holder: "relay-\(relay)", duration: 30)
                        let due = try await store.dueInsurants(now: now, insurants: 20, perInsurant: 4, readyBefore: now, excluding: [], claim: claim)
                        return (claim.holder, due.entries.map(\.kvnr))
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            let all = served.values.flatMap { $0 }
            #expect(!all.isEmpty)
            #expect(all.count == Set(all).count, "an insurant was served by two relays: \(served)")
            let claims = try await store.readUnchecked(sql: "SELECT kvnr || ' ' || holder FROM outbox_claim ORDER BY kvnr")
            let expected = served.flatMap { holder, kvnrs in kvnrs.map { "\($0.rawValue) \(holder)" } }.sorted()
            #expect(claims.compactMap { $0 } == expected)
        }
    }

    /// What one instance committed, another (or the next run) reads: the store holds nothing of
    /// its own beyond the database.
    @Test func dataSurvivesClosingAndIsSeenByAnotherStore() async throws {
        try await TestPostgres.withFreshDatabase { configuration in
            let task = Fixtures.task(Fixtures.prescriptionID(95))
            let set = Fixtures.dispensationSet(task.id, size: 2, writer: 1)
            let dispensed = Fixtures.audit(.dispense, task.id, at: Fixtures.created.addingTimeInterval(100))
            let first = try await open(configuration)
            #expect(try await first.insert(task, audit: Fixtures.createAudit(task)))
            try await first.update(task: task.id) { (TaskChange(task: $0, dispensations: .replace(set), audit: dispensed), ()) }
            let second = try await open(configuration, migrating: false)
            #expect(try await second.task(task.id) == task)
            await first.close()
            #expect(try await second.dispensations(of: task.id) == set)
            #expect(try await second.auditTrail(of: task.id) == [Fixtures.createAudit(task), dispensed])
            #expect(try await second.insert(task, audit: Fixtures.createAudit(task)) == false)
            await second.close()
        }
    }

    @Test func aClosedPortIsUnavailableWithinTheConnectBound() async throws {
        var configuration = PostgreSQLStoreConfiguration(host: "127.0.0.1", port: 1, user: "erx", password: "x", database: "erx")
        configuration.connectTimeout = .milliseconds(800)
        let started = ContinuousClock.now
        await #expect(throws: StoreUnavailable.self) { try await open(configuration) }
        // Bounded, not punctual: run with the whole package's tests on two cores, every wake-up
        // comes late (a fresh-clone CI run saw 71 s while CPU-bound suites held the cooperative
        // threads), but a hang would never end.
        #expect(ContinuousClock.now - started < .seconds(300))
    }

    /// Waits inside an open store are bounded too: for a connection of a full pool, and for a
    /// statement that runs too long (cancelled by the server's `statement_timeout`). The bounds are
    /// apart by seconds, so the test holds on two busy cores.
    @Test func aFullPoolAndASlowStatementAreUnavailableWithinTheirBounds() async throws {
        try await TestPostgres.withFreshDatabase { server in
            try await open(server).close()
            var configuration = server
            configuration.maximumConnections = 1
            configuration.connectTimeout = .seconds(1)
            configuration.queryTimeout = .seconds(3)
            let store = try await open(configuration)
            let started = ContinuousClock.now
            let slow = Task { try await store.executeUnchecked(sql: "SELECT pg_sleep(30)") }
            try await Task.sleep(for: .milliseconds(300))
            await #expect(throws: StoreUnavailable(reason: "connect timeout")) { try await store.task(Fixtures.prescriptionID(1)) }
            await #expect(throws: StoreUnavailable(reason: "query timeout")) { try await slow.value }
            // Far from the thirty seconds the statement asked for: no wait is longer than its bound.
            #expect(ContinuousClock.now - started < .seconds(25))
            #expect(await store.ping())
            await store.close()
            #expect(await store.ping() == false)
            await #expect(throws: PostgreSQLStoreError.closed) { try await store.task(Fixtures.prescriptionID(1)) }
        }
    }

    @Test func theConfigurationNeverShowsItsPassword() throws {
        let configuration = try PostgreSQLStoreConfiguration(url: "postgres://erx%20ops:s3cr%40t%2Fx@db.example:5433/erx_prod", password: nil)
        #expect(configuration.user == "erx ops" && configuration.password == "s3cr@t/x")
        #expect(configuration.host == "db.example" && configuration.port == 5433 && configuration.database == "erx_prod")
        var dumped = ""
        dump(configuration, to: &dumped)
        for shown in [String(describing: configuration), String(reflecting: configuration), "\(configuration)", dumped] {
            #expect(!shown.contains("s3cr"), "\(shown)")
        }
        #expect(try PostgreSQLStoreConfiguration(url: "postgres://erx:inurl@h/db", password: "explicit").password == "explicit")
        #expect(try PostgreSQLStoreConfiguration(url: "postgresql://erx@h/db", password: nil).port == 5432)
        for url in ["mysql://erx:hunter2@h:5432/db", "postgres://erx:hunter2@h:5432/", "postgres://:hunter2@h/db", "erx:hunter2@h/db", "postgres://erx:hunter2@h/db?sslmode=off"] {
            let error = #expect(throws: PostgreSQLStoreConfiguration.URLError.self) { try PostgreSQLStoreConfiguration(url: url, password: nil) }
            #expect(error.map { !String(describing: $0).contains("hunter2") } == true)
        }
    }
}
