public import Dispensing
import FHIRModel
public import Foundation
import Logging
import PostgresNIO

/// The `communication` table (migration 9): one row per message, read by sender or recipient
/// (fd-messaging-transport §1.10).
enum CommunicationRows {
    static let columns = "id, kind, profile_version, task_id, sender, recipient, sent, received, resource"

    /// Inserts, after reading the task again under a lock (a task cancelled meanwhile takes no
    /// message). A Representative message locks the task's row for update, so concurrent posts on
    /// one task count one after the other (READ COMMITTED would let two both see 9), then counts the
    /// messages between the two insurants (A_20229-01).
    static func insert(_ message: Communication, representativeLimit: Int, on connection: PostgresConnection, logger: Logger) async throws {
        // The task again, under a lock, in the insert's transaction: a `$abort` that committed after
        // the checks read it has deleted the task's messages and must not leave this one behind
        // (A_19027-06). A share lock makes a concurrent `$abort` wait for this insert, and this insert
        // see the abort once it has committed.
        let lock = message.kind == .representative ? "FOR UPDATE" : "FOR SHARE"
        let rows = try await connection.rows("SELECT status FROM task WHERE id = \(message.prescriptionID.rawValue) \(unescaped: lock)", logger: logger)
        guard let row = rows.first else { throw CommunicationError.taskMissing(prescriptionID: message.prescriptionID.rawValue) }
        if try RowReader(row, table: "task").value("status", as: String.self) == TaskStatus.cancelled.rawValue {
            throw CommunicationError.taskWithoutKVNR
        }
        if message.kind == .representative {
            let count = try await representativeCount(of: message.prescriptionID, between: message.sender, and: message.recipient,
                                                      on: connection, logger: logger)
            if count >= representativeLimit { throw CommunicationError.tooManyRepresentativeMessages(limit: representativeLimit) }
        }
        let query: PostgresQuery = """
            INSERT INTO communication (\(unescaped: columns)) VALUES (\(message.id), \(message.kind.rawValue), \(message.profileVersion),
            \(message.prescriptionID.rawValue), \(message.sender), \(message.recipient), \(StoredDate.value(message.sent)),
            \(StoredDate.value(message.received)), \(try StoredResource.value(message.resource)))
            """
        _ = try await connection.rows(query, logger: logger)
    }

    static func representativeCount(of id: PrescriptionID, between first: String, and second: String,
                                    on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let query: PostgresQuery = """
            SELECT count(*)::bigint AS n FROM communication WHERE task_id = \(id.rawValue) AND kind = 'Representative'
            AND ((sender = \(first) AND recipient = \(second)) OR (sender = \(second) AND recipient = \(first)))
            """
        let rows = try await connection.rows(query, logger: logger)
        return Int(try rows.first.map { try RowReader($0, table: "communication").value("n", as: Int64.self) } ?? 0)
    }

    /// The participant's messages (one by `id` when given), after marking the unread ones they
    /// receive as received at `now` (A_19521), in the caller's transaction.
    static func fetch(_ id: String, for participant: String, now: Date, on connection: PostgresConnection, logger: Logger) async throws -> Communication? {
        try await markReceived([id], by: participant, at: now, on: connection, logger: logger)
        let read: PostgresQuery = """
            SELECT \(unescaped: columns) FROM communication WHERE id = \(id) AND (sender = \(participant) OR recipient = \(participant))
            """
        return try await connection.rows(read, logger: logger).first.map(communication(from:))
    }

    static func fetchAll(for participant: String, on connection: PostgresConnection, logger: Logger) async throws -> [Communication] {
        let read: PostgresQuery = """
            SELECT \(unescaped: columns) FROM communication WHERE sender = \(participant)
            UNION ALL SELECT \(unescaped: columns) FROM communication WHERE recipient = \(participant) AND sender <> \(participant) ORDER BY id
            """
        return try await connection.rows(read, logger: logger).map(communication(from:))
    }

    static func markReceived(_ ids: [String], by recipient: String, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        let query: PostgresQuery = """
            UPDATE communication SET received = \(StoredDate.value(now)) WHERE recipient = \(recipient) AND received IS NULL AND id = ANY(\(ids))
            """
        _ = try await connection.rows(query, logger: logger)
    }

    static func delete(_ id: String, sender: String, on connection: PostgresConnection, logger: Logger) async throws -> CommunicationDeletion {
        let rows = try await connection.rows("SELECT sender FROM communication WHERE id = \(id) FOR UPDATE", logger: logger)
        guard let row = rows.first else { return .notFound }
        guard try RowReader(row, table: "communication").value("sender", as: String.self) == sender else { return .notTheSender }
        _ = try await connection.rows("DELETE FROM communication WHERE id = \(id)", logger: logger)
        return .deleted
    }

    /// `$abort` (A_19027-06): every message of the task goes with it.
    static func deleteAll(of id: PrescriptionID, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.rows("DELETE FROM communication WHERE task_id = \(id.rawValue)", logger: logger)
    }

    private static func communication(from row: PostgresRow) throws -> Communication {
        let reader = RowReader(row, table: "communication")
        return Communication(
            id: try reader.value("id"), kind: try reader.parsed("kind", Communication.Kind.init(rawValue:)),
            profileVersion: try reader.value("profile_version"), prescriptionID: try reader.parsed("task_id", PrescriptionID.init),
            sender: try reader.value("sender"), recipient: try reader.value("recipient"), sent: try reader.date("sent"),
            received: try reader.dateIfPresent("received"), resource: try reader.resource("resource"))
    }
}

extension PostgreSQLTaskStore: CommunicationStore {
    public func insert(_ communication: Communication, representativeLimit: Int) async throws {
        try await write { connection, logger in
            try await CommunicationRows.insert(communication, representativeLimit: representativeLimit, on: connection, logger: logger)
        }
    }

    public func representativeCount(of prescriptionID: PrescriptionID, between first: String, and second: String) async throws -> Int {
        try await read { connection, logger in
            try await CommunicationRows.representativeCount(of: prescriptionID, between: first, and: second, on: connection, logger: logger)
        }
    }

    public func communication(_ id: String, for participant: String, now: Date) async throws -> Communication? {
        try await write { connection, logger in try await CommunicationRows.fetch(id, for: participant, now: now, on: connection, logger: logger) }
    }

    public func communications(for participant: String) async throws -> [Communication] {
        try await read { connection, logger in try await CommunicationRows.fetchAll(for: participant, on: connection, logger: logger) }
    }

    public func markReceived(_ ids: [String], by recipient: String, at now: Date) async throws {
        guard !ids.isEmpty else { return }
        try await write { connection, logger in try await CommunicationRows.markReceived(ids, by: recipient, at: now, on: connection, logger: logger) }
    }

    public func deleteCommunication(_ id: String, sender: String) async throws -> CommunicationDeletion {
        try await write { connection, logger in try await CommunicationRows.delete(id, sender: sender, on: connection, logger: logger) }
    }
}
