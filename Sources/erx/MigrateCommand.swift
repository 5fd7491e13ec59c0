import ArgumentParser
import Foundation
import Logging

/// `erx migrate`: brings the database (SQLite in `--data`, or `--database`) to this build's schema
/// and exits, so an operator can migrate once before starting several instances of a new version.
/// `erx serve` migrates at start as well; on PostgreSQL the migrations take an advisory lock, so
/// instances starting at once apply each exactly once either way.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Migrate the database to this build's schema and exit.")

    @Option(help: "The data directory (its SQLite database, unless --database is given).")
    var data = "erx-data"

    @OptionGroup var store: StoreOptions

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let directory = URL(fileURLWithPath: data, isDirectory: true)
        if try store.postgres() == nil { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        let opened = try await store.open(data: directory, logger: Logger(label: "erx"))
        await opened.close()
        print("migrated: \(opened.label)")
    }
}
