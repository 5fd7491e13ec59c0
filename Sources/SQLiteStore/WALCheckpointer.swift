import GRDB
import Synchronization

/// Copies the WAL back into the database file on a connection of its own, beside the writer.
///
/// Why: SQLite's automatic checkpoint runs on the committing connection, right after the commit
/// that makes the WAL reach its limit (1,000 pages by default). On our single writer every queued
/// write waited for that copy and its two fsyncs, about a tenth of the writer's time under load.
/// A larger limit alone copies less (a page rewritten often is copied once per checkpoint) but
/// stalls longer (p99 23 ms at 8,000 pages against 11 ms at 1,000, measured).
///
/// Here a second connection checkpoints in PASSIVE mode, which neither waits for nor blocks the
/// writer or the readers, once every `interval` committed writes. The WAL starts over at the next
/// write after a checkpoint that copied every frame; under steady load the writer's next commit
/// usually comes first, so the writer keeps SQLite's automatic checkpoint as the backstop, at a
/// larger limit (see ``SQLiteTaskStore``): past it, the writer copies what the last pass left after
/// its commits until the WAL starts over. The WAL stays near that limit unless a long read pins
/// it. Measured under load, interleaved 15 s runs against the writer checkpointing alone at 1,000
/// pages: 7.6 k against 7.3–7.7 k `$dispense`/s, p99 8 ms against 10 ms.
///
/// Durability is unchanged: a checkpoint syncs the WAL before copying and the database after
/// (this connection runs with `synchronous=FULL` too), and no commit waits for one.
final class WALCheckpointer: Sendable {
    private struct State {
        var writesSincePass = 0
        var isPassRunning = false
        var isClosed = false
        var statistics = WALCheckpointStatistics()
    }

    private let connection: DatabaseQueue
    private let interval: Int
    private let state = Mutex(State())

    /// Opens the checkpointing connection to the (existing, WAL-mode) database at `path`.
    init(path: String, interval: Int) throws {
        precondition(interval > 0, "a checkpoint interval counts writes, at least one")
        var configuration = Configuration()
        configuration.label = "erx.WALCheckpointer"
        // Opening reads the schema, which may meet a lock held by a tool beside the server; the
        // checkpoint itself never waits (PASSIVE), it answers SQLITE_BUSY when the writer's backstop
        // is copying.
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        connection = try DatabaseQueue(path: path, configuration: configuration)
        self.interval = interval
    }

    /// Counts `writes` committed by the writer and starts a pass when `interval` have gathered
    /// since the last one started and none is running. Returns at once: the pass runs on this
    /// connection's own queue.
    func committed(writes: Int) {
        let startsPass = state.withLock { state -> Bool in
            state.writesSincePass += writes
            guard !state.isClosed, !state.isPassRunning, state.writesSincePass >= interval else { return false }
            state.isPassRunning = true
            state.writesSincePass = 0
            return true
        }
        guard startsPass else { return }
        connection.asyncWriteWithoutTransaction { [self] db in
            // A pass that fails loses nothing: the frames stay in the WAL for the next pass or the
            // writer's backstop. It is counted, so a checkpoint that keeps failing shows.
            let outcome: Result<Void, any Error> = Result { try db.checkpoint(.passive) }
            state.withLock { state in
                state.isPassRunning = false
                switch outcome {
                case .success: state.statistics.passes += 1
                case .failure(let error as DatabaseError) where error.resultCode == .SQLITE_BUSY: state.statistics.busyPasses += 1
                case .failure: state.statistics.failedPasses += 1
                }
            }
        }
    }

    var statistics: WALCheckpointStatistics { state.withLock(\.statistics) }

    /// Starts no more passes, waits for a running one and closes the connection.
    func close() throws {
        state.withLock { $0.isClosed = true }
        try connection.close()
    }
}

/// What the background checkpointer did (tests prove it runs with it).
package struct WALCheckpointStatistics: Sendable, Hashable {
    package var passes = 0
    /// Passes that found the writer's own checkpoint running.
    package var busyPasses = 0
    package var failedPasses = 0
}
