import Dispensing
import FHIRModel
import Logging
import PostgresNIO

/// The reads a rule makes through its ``TaskSnapshot``, fetched on demand between pure re-runs.
///
/// The port hands `decide` synchronous closures (`objections`, `dispensations`), so a rule that
/// needs neither costs no query; but a PostgreSQL read is asynchronous and cannot run inside them.
/// So the snapshot answers only from what this transaction already fetched, and otherwise throws
/// ``NeedsRead`` naming the read; `update` catches it, fetches that read on the same connection
/// (after the task's row lock, inside the same transaction, so it is what the change will be
/// written against) and calls `decide` again. The port allows this: `decide` is pure and "may be
/// called again". A rule that needs both reads runs three times, each run cheap next to a round
/// trip; the usual `$dispense` needs one or none.
///
/// It relies on no rule swallowing the closures' errors (a `try?` around `snapshot.objections`
/// would read "no objection"); none in `Sources/Dispensing` does. A rule that asked for a new read
/// on every run would loop: ``maximumRuns`` ends that as ``PostgreSQLStoreError/tooManyReads``.
struct SnapshotReads: Sendable {
    /// A read the rule asked for that this transaction has not fetched yet.
    enum Read: Hashable, Sendable {
        case objections(KVNR)
        case dispensations
    }

    /// Thrown by the snapshot's closures for a read not fetched yet; never leaves `update`.
    struct NeedsRead: Error {
        let read: Read
    }

    /// Runs of `decide` one `update` allows: one per read it can ask for (the dispensations, the
    /// objections of the task's insurant and of the prescription's) and the final one, with room.
    static let maximumRuns = 8

    private var objections: [KVNR: [Objection]] = [:]
    private var dispensations: [Dispensation]?

    /// The snapshot of `task` answering from the reads fetched so far.
    func snapshot(of task: PrescriptionTask) -> TaskSnapshot {
        TaskSnapshot(
            task: task,
            objections: { [objections] kvnr in
                guard let found = objections[kvnr] else { throw NeedsRead(read: .objections(kvnr)) }
                return found
            },
            dispensations: { [dispensations] in
                guard let dispensations else { throw NeedsRead(read: .dispensations) }
                return dispensations
            }
        )
    }

    /// Fetches `read` for the task `id` on the transaction's connection.
    mutating func fetch(_ read: Read, of id: PrescriptionID, on connection: PostgresConnection, logger: Logger) async throws {
        switch read {
        case .objections(let kvnr):
            objections[kvnr] = try await ObjectionRows.fetchAll(of: kvnr, on: connection, logger: logger)
        case .dispensations:
            dispensations = try await DispensationRows.fetchAll(of: id, on: connection, logger: logger)
        }
    }
}
