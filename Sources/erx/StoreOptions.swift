import ArgumentParser
import Dispensing
import Foundation
import Logging
import PostgreSQLStore
import SQLiteStore

/// `erx serve`'s choice of store (issue 21): SQLite in the data directory, or PostgreSQL at
/// `--database`, which several instances can share. The password comes from
/// `ERX_DATABASE_PASSWORD` or `--database-password-file`, or, least advisable, from the URL: an
/// argument shows in every process listing. It never reaches a log line.
struct StoreOptions: ParsableArguments {
    @Option(help: "PostgreSQL as postgres://USER@HOST:PORT/DB (also ERX_DATABASE_URL; the password from ERX_DATABASE_PASSWORD or --database-password-file). Without it: SQLite in --data.")
    var database: String?

    @Option(help: "A file whose first line is the PostgreSQL password (e.g. a mounted secret).")
    var databasePasswordFile: String?

    @Option(help: "Most PostgreSQL connections this instance opens (its pool).")
    var databasePoolSize = 16

    @Option(help: "Milliseconds a request waits for a PostgreSQL connection before it is answered 503; its statements get twice as long.")
    var databaseTimeoutMs = 5_000

    func validate() throws {
        guard databasePoolSize >= 1, databasePoolSize <= 1_000 else { throw ValidationError("--database-pool-size must be 1…1000") }
        guard databaseTimeoutMs >= 1, databaseTimeoutMs <= 600_000 else { throw ValidationError("--database-timeout-ms must be 1…600000") }
        if let database {
            // Parsed here so a bad URL stops the start with the parser's text, which never echoes the password.
            do { _ = try PostgreSQLStoreConfiguration(url: database, password: nil) } catch { throw ValidationError("\(error)") }
        }
        if databasePasswordFile != nil, database == nil { throw ValidationError("--database-password-file needs --database") }
    }

    /// The PostgreSQL configuration, or `nil` for SQLite.
    func postgres(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgreSQLStoreConfiguration? {
        guard let database else { return nil }
        var password = environment["ERX_DATABASE_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        if let file = databasePasswordFile {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            password = String(text.prefix { $0 != "\n" && $0 != "\r" })
        }
        var configuration = try PostgreSQLStoreConfiguration(url: database, password: password)
        configuration.maximumConnections = databasePoolSize
        configuration.connectTimeout = .milliseconds(databaseTimeoutMs)
        configuration.queryTimeout = .milliseconds(2 * databaseTimeoutMs)
        return configuration
    }

    /// Opens the store: migrated to this build's schema (`migrating`), or only if it already is.
    func open(data directory: URL, logger: Logger, migrating: Bool = true) async throws -> OpenedStore {
        if let configuration = try postgres() {
            let store = try await PostgreSQLTaskStore.open(configuration, logger: logger, migrating: migrating)
            return OpenedStore(store: store, label: configuration.description, ready: { await store.ping() }, close: { await store.close() })
        }
        let path = directory.appendingPathComponent("erx.sqlite").path
        let store = migrating ? try SQLiteTaskStore(path: path) : try SQLiteTaskStore.existing(at: path)
        return OpenedStore(store: store, label: path, ready: {
            // A read that touches the database: it answers (with no task) or throws.
            do { _ = try await store.task(PrescriptionID(flowType: .gkvPharmacy, serial: 0)); return true } catch { return false }
        }, close: { try? await store.close() })
    }
}

/// The store `erx` runs on, whichever it is: nothing above this knows SQLite from PostgreSQL.
struct OpenedStore: Sendable {
    let store: any TaskStore & OutboxStore & DeadLetterStore & WebhookStore & CarbonCopyStore
    /// Where it is, for the start line and logs: a path, or the URL without its password.
    let label: String
    let ready: @Sendable () async -> Bool
    let close: @Sendable () async -> Void
}
