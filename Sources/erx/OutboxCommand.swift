import ArgumentParser
import Dispensing
import Foundation
import Logging
import PostgreSQLStore
import SQLiteStore

/// `erx outbox`: the operator's view of the registry outbox. Runs beside a serving `erx serve` on
/// the same data directory or `--database` (the server's relay sees a requeued transfer at its next
/// look), of the same version: it refuses a database of another schema.
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "List the registry transfers the relay gave up on, and send them again.",
        subcommands: [DeadLettersCommand.self, RequeueCommand.self]
    )
}

/// The data directory (or `--database`) of the outbox commands, and the store it holds.
struct OutboxData: ParsableArguments {
    @Option(help: "The server's data directory (its SQLite database, unless --database is given).")
    var data = "erx-data"

    @OptionGroup var store: StoreOptions

    /// Runs `body` with the store, opened only if it exists at this build's schema (never created
    /// or migrated here), and closes it whatever happens.
    func withStore<Result>(_ body: (any TaskStore & OutboxStore & DeadLetterStore) async throws -> Result) async throws -> Result {
        let opened: OpenedStore
        do {
            var logger = Logger(label: "erx.outbox")
            logger.logLevel = .warning
            opened = try await store.open(data: URL(fileURLWithPath: data, isDirectory: true), logger: logger, migrating: false)
        } catch let error as SQLiteStoreError {
            throw OutboxCommandError("\(error.description): \(URL(fileURLWithPath: data).appendingPathComponent("erx.sqlite").path)")
        } catch let error as PostgreSQLStoreError {
            throw OutboxCommandError(error.description)
        } catch let error as StoreUnavailable {
            throw OutboxCommandError("the database cannot be reached (\(error.reason))")
        }
        do {
            let result = try await body(opened.store)
            await opened.close()
            return result
        } catch {
            await opened.close()
            throw error
        }
    }
}

/// A failure an operator reads as is (not a usage error: no help text, exit status 1).
struct OutboxCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `erx outbox dead-letters`: one line per dead letter, oldest first, tab-separated.
struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List the dead letters: id, operation, prescription, attempts, given up at, superseded by, last error."
    )

    @OptionGroup var options: OutboxData

    func run() async throws {
        let letters = try await options.withStore { try await $0.deadLetters() }
        print(["id", "operation", "prescription", "attempts", "given_up_at", "superseded_by", "last_error"].joined(separator: "\t"))
        let formatter = ISO8601DateFormatter()
        for letter in letters {
            let operation = letter.operation?.rawValue ?? "unreadable"
            let prescription = letter.prescriptionID?.rawValue ?? "unreadable"
            let givenUp = letter.settledAt.map(formatter.string(from:)) ?? ""
            let superseded = letter.supersededBy.map(String.init) ?? ""
            // One line per letter: the error text is ours (status and reason), but keep it on one line.
            let error = (letter.lastError ?? "").replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " ")
            let fields: [String] = [String(letter.id), operation, prescription, String(letter.attempts), givenUp, superseded, error]
            print(fields.joined(separator: "\t"))
        }
    }
}

/// `erx outbox requeue`: sends dead letters again. Exit status 1 when a named one was refused;
/// with `--all`, superseded ones are skipped without that (they stay superseded for good).
struct RequeueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requeue",
        abstract: "Return dead letters to the queue (not one a later transfer supersedes, nor an objecting insurant's)."
    )

    @OptionGroup var options: OutboxData

    @Flag(help: "Every dead letter, oldest first; superseded ones are skipped.")
    var all = false

    @Argument(help: "Ids of dead letters (from `erx outbox dead-letters`).")
    var ids: [Int64] = []

    func validate() throws {
        guard all != !ids.isEmpty else { throw ValidationError("give either dead letter ids or --all") }
    }

    func run() async throws {
        let all = self.all
        let named = ids
        let refused = try await options.withStore { store in
            let targets = all ? try await store.deadLetters().map(\.id) : named
            var refused = 0
            for id in targets {
                let outcome = try await store.requeue(id, at: Date())
                switch outcome {
                case .requeued: print("\(id)\trequeued")
                case .notDead: print("\(id)\trefused: not a dead letter")
                case .superseded(let later) where all: print("\(id)\tskipped: superseded by transfer \(later), sent or pending")
                case .superseded(let later): print("\(id)\trefused: superseded by transfer \(later), sent or pending")
                case .objected: print("\(id)\trefused: the insurant has objected")
                case .unreadable: print("\(id)\trefused: the stored transfer cannot be read")
                }
                switch outcome {
                case .requeued: break
                case .superseded where all: break
                default: refused += 1
                }
            }
            return refused
        }
        if refused > 0 { throw ExitCode(1) }
    }
}
