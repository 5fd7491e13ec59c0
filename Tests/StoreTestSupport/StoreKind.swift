public import Dispensing
public import Foundation
import Logging
public import PostgreSQLStore
public import SQLiteStore

/// The stores a port-level test runs on: `@Test(arguments: StoreKind.allCases)`.
public enum StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgresql

    public var description: String { rawValue }
}

/// What the store tests need of a store beyond the port: raw SQL, to damage rows on purpose and to
/// look at what no port shows. Both stores have these as `package` tools.
package protocol TestableStore: TaskStore, OutboxStore, DeadLetterStore, CarbonCopyStore {
    func executeUnchecked(sql: String) async throws
    func readUnchecked(sql: String) async throws -> [String?]
}

extension SQLiteTaskStore: TestableStore {}
extension PostgreSQLTaskStore: TestableStore {}

/// A fresh, empty store of `kind` for one test, closed and removed afterwards: SQLite on a new
/// file in a temporary directory, PostgreSQL on a new database of the test cluster (see
/// ``TestPostgres``).
@discardableResult
package func withTemporaryStore<Result>(_ kind: StoreKind, _ body: (any TestableStore) async throws -> Result) async throws -> Result {
    switch kind {
    case .sqlite:
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteTaskStore(path: directory.appendingPathComponent("erx.sqlite").path)
        let result = try await body(store)
        try await store.close()
        return result
    case .postgresql:
        return try await TestPostgres.withFreshDatabase { configuration in
            let store = try await PostgreSQLTaskStore.open(configuration, logger: TestPostgres.logger)
            do {
                let result = try await body(store)
                await store.close()
                return result
            } catch {
                await store.close()
                throw error
            }
        }
    }
}

/// Whether `error` is the store's "unreadable value in `table`.`column`", of either store.
package func isCorruptRow(_ error: any Error, table: String, column: String) -> Bool {
    (error as? SQLiteStoreError) == .corruptRow(table: table, column: column)
        || (error as? PostgreSQLStoreError) == .corruptRow(table: table, column: column)
}

/// Whether `error` is the store's refusal of a change of another task than the one locked.
package func isChangeOfAnotherTask(_ error: any Error) -> Bool {
    (error as? SQLiteStoreError) == .changeOfAnotherTask || (error as? PostgreSQLStoreError) == .changeOfAnotherTask
}
