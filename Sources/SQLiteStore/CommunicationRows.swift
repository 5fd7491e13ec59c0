public import Dispensing
import FHIRModel
public import Foundation
import GRDB

/// The `communication` table (migration v9): one row per message, read by sender or recipient
/// (fd-messaging-transport §1.10).
enum CommunicationRows {
    static let columns = "id, kind, profile_version, task_id, sender, recipient, sent, received, resource"
    static let columnList = ["id", "kind", "profile_version", "task_id", "sender", "recipient", "sent", "received", "resource"]

    /// Inserts; for a Representative message first counts (in the same write transaction, which the
    /// single writer serialises) the messages between the two insurants on the task (A_20229-01).
    static func insert(_ message: Communication, representativeLimit: Int, in db: Database) throws {
        // The task again, in the insert's transaction (the single writer serialises it with `$abort`):
        // an abort that committed after the checks read the task has deleted its messages, and must
        // not leave this one behind (A_19027-06).
        guard let status = try String.fetchOne(db, sql: "SELECT status FROM task WHERE id = ?", arguments: [message.prescriptionID.rawValue]) else {
            throw CommunicationError.taskMissing(prescriptionID: message.prescriptionID.rawValue)
        }
        if status == TaskStatus.cancelled.rawValue { throw CommunicationError.taskWithoutKVNR }
        if message.kind == .representative,
           try representativeCount(of: message.prescriptionID, between: message.sender, and: message.recipient, in: db) >= representativeLimit {
            throw CommunicationError.tooManyRepresentativeMessages(limit: representativeLimit)
        }
        try db.execute(sql: "INSERT INTO communication (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", arguments: [
            message.id, message.kind.rawValue, message.profileVersion, message.prescriptionID.rawValue, message.sender, message.recipient,
            StoredDate.value(message.sent), StoredDate.value(message.received), try StoredResource.value(message.resource),
        ])
    }

    static func representativeCount(of id: PrescriptionID, between first: String, and second: String, in db: Database) throws -> Int {
        try Int.fetchOne(db, sql: """
            SELECT count(*) FROM communication WHERE task_id = ? AND kind = 'Representative'
            AND ((sender = ? AND recipient = ?) OR (sender = ? AND recipient = ?))
            """, arguments: [id.rawValue, first, second, second, first]) ?? 0
    }

    /// The participant's messages (one by `id` when given), after marking the unread ones they
    /// receive as received at `now` (A_19521).
    static func fetch(_ id: String, for participant: String, now: Date, in db: Database) throws -> Communication? {
        try markReceived([id], by: participant, at: now, in: db)
        let row = try Row.fetchOne(db, sql: "SELECT \(columns) FROM communication WHERE id = ? AND (sender = ? OR recipient = ?)",
                                   arguments: [id, participant, participant])
        return try row.map(communication(from:))
    }

    static func fetchAll(for participant: String, in db: Database) throws -> [Communication] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT \(columns) FROM communication WHERE sender = ?
            UNION ALL SELECT \(columns) FROM communication WHERE recipient = ? AND sender <> ? ORDER BY id
            """, arguments: [participant, participant, participant])
        return try rows.map(communication(from:))
    }

    static func markReceived(_ ids: [String], by recipient: String, at now: Date, in db: Database) throws {
        let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        try db.execute(sql: "UPDATE communication SET received = ? WHERE recipient = ? AND received IS NULL AND id IN (\(marks))",
                       arguments: StatementArguments([StoredDate.value(now), recipient] as [any DatabaseValueConvertible]) + StatementArguments(ids))
    }

    static func delete(_ id: String, sender: String, in db: Database) throws -> CommunicationDeletion {
        guard let stored = try String.fetchOne(db, sql: "SELECT sender FROM communication WHERE id = ?", arguments: [id]) else { return .notFound }
        guard stored == sender else { return .notTheSender }
        try db.execute(sql: "DELETE FROM communication WHERE id = ?", arguments: [id])
        return .deleted
    }

    /// `$abort` (A_19027-06): every message of the task goes with it.
    static func deleteAll(of id: PrescriptionID, in db: Database) throws {
        try db.execute(sql: "DELETE FROM communication WHERE task_id = ?", arguments: [id.rawValue])
    }

    private static func communication(from row: Row) throws -> Communication {
        let reader = RowReader(row: row, table: "communication", columns: columnList)
        return Communication(
            id: try reader.value("id"), kind: try reader.parsed("kind", Communication.Kind.init(rawValue:)),
            profileVersion: try reader.value("profile_version"), prescriptionID: try reader.parsed("task_id", PrescriptionID.init),
            sender: try reader.value("sender"), recipient: try reader.value("recipient"), sent: try reader.date("sent"),
            received: try reader.dateIfPresent("received"), resource: try reader.resource("resource"))
    }
}

extension SQLiteTaskStore: CommunicationStore {
    public func insert(_ communication: Communication, representativeLimit: Int) async throws {
        try await writer.submit { db in try CommunicationRows.insert(communication, representativeLimit: representativeLimit, in: db) }
    }

    public func representativeCount(of prescriptionID: PrescriptionID, between first: String, and second: String) async throws -> Int {
        try await pool.read { db in try CommunicationRows.representativeCount(of: prescriptionID, between: first, and: second, in: db) }
    }

    public func communication(_ id: String, for participant: String, now: Date) async throws -> Communication? {
        try await writer.submit { db in try CommunicationRows.fetch(id, for: participant, now: now, in: db) }
    }

    public func communications(for participant: String) async throws -> [Communication] {
        try await pool.read { db in try CommunicationRows.fetchAll(for: participant, in: db) }
    }

    public func markReceived(_ ids: [String], by recipient: String, at now: Date) async throws {
        guard !ids.isEmpty else { return }
        try await writer.submit { db in try CommunicationRows.markReceived(ids, by: recipient, at: now, in: db) }
    }

    public func deleteCommunication(_ id: String, sender: String) async throws -> CommunicationDeletion {
        try await writer.submit { db in try CommunicationRows.delete(id, sender: sender, in: db) }
    }
}
