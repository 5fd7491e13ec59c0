import ArgumentParser
import Dispensing
import Foundation
import SQLiteStore

/// `erx outbox`: the operator's view of the registry outbox. Runs beside a serving `erx serve` on
/// the same data directory (SQLite lets both at the file; the server's relay sees a requeued
/// transfer at its next look).
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "List the registry transfers the relay gave up on, and send them again.",
        subcommands: [DeadLettersCommand.self, RequeueCommand.self]
    )
}

/// The data directory option of the outbox commands, and the store it holds.
struct OutboxData: ParsableArguments {
    @Option(help: "The server's data directory.")
    var data = "erx-data"

    /// The store, or a clear error when the directory holds none: an operator command must not
    /// create an empty database where a typo in the path sent it.
    func store() throws -> SQLiteTaskStore {
        let path = URL(fileURLWithPath: data, isDirectory: true).appendingPathComponent("erx.sqlite").path
        guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no erx database at \(path)") }
        return try SQLiteTaskStore(path: path)
    }
}

/// `erx outbox dead-letters`: one line per dead letter, oldest first, tab-separated.
struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List the dead letters: id, operation, prescription, attempts, given up at, superseded by, last error."
    )

    @OptionGroup var options: OutboxData

    func run() async throws {
        let store = try options.store()
        let letters = try await store.deadLetters()
        try await store.close()
        print(["id", "operation", "prescription", "attempts", "given_up_at", "superseded_by", "last_error"].joined(separator: "\t"))
        let formatter = ISO8601DateFormatter()
        for letter in letters {
            print([
                String(letter.id), letter.operation.rawValue, letter.prescriptionID.rawValue, String(letter.attempts),
                letter.settledAt.map(formatter.string(from:)) ?? "", letter.supersededBy.map(String.init) ?? "",
                // One line per letter: the error text is ours (status and reason), but keep it on one line.
                (letter.lastError ?? "").replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " "),
            ].joined(separator: "\t"))
        }
    }
}

/// `erx outbox requeue`: sends dead letters again; exit status 1 when any was refused.
struct RequeueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requeue",
        abstract: "Return dead letters to the queue (not one a later transfer superseded, nor an objecting insurant's)."
    )

    @OptionGroup var options: OutboxData

    @Flag(help: "Every dead letter, oldest first.")
    var all = false

    @Argument(help: "Ids of dead letters (from `erx outbox dead-letters`).")
    var ids: [Int64] = []

    func validate() throws {
        guard all != !ids.isEmpty else { throw ValidationError("give dead letter ids or --all, not both") }
    }

    func run() async throws {
        let store = try options.store()
        let targets = all ? try await store.deadLetters().map(\.id) : ids
        var refused = 0
        for id in targets {
            let outcome = try await store.requeue(id, at: Date())
            switch outcome {
            case .requeued: print("\(id)\trequeued")
            case .notDead: print("\(id)\trefused: not a dead letter")
            case .superseded(let later): print("\(id)\trefused: superseded by transfer \(later), which the registry applied")
            case .objected: print("\(id)\trefused: the insurant has objected")
            }
            if outcome != .requeued { refused += 1 }
        }
        try await store.close()
        if refused > 0 { throw ExitCode(1) }
    }
}
