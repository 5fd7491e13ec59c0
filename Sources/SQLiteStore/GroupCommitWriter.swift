import GRDB
import Synchronization

/// The store's single writer: every write waits in one queue, and all writes that queued up while
/// the previous transaction was committing share the next one (group commit).
///
/// Why: with `synchronous=FULL` every commit waits for an fsync of the WAL. On these machines that
/// caps single-row transactions at about 3k/s, while rows inside one transaction go at about
/// 30k/s (STACK-BASELINE.md). Sharing a commit among N waiting writes divides the fsync cost by N;
/// a lone write still commits at once, because a batch starts as soon as the writer is idle, never
/// after a timer.
///
/// Each write runs in its own savepoint inside the batch's transaction, in arrival order:
/// - a write that throws (a rule refusing, an unknown task) rolls back only its savepoint and
///   gets its own error; the others in the batch are unaffected;
/// - a write sees everything earlier writes of the batch did (one transaction, one connection),
///   so of two updates of one task in one batch the later decides on the earlier one's result,
///   exactly as if they had run one after the other;
/// - nobody is resumed before the COMMIT: a successful write is durable when its caller returns,
///   and if the COMMIT fails every write of the batch gets that error (none of them is stored).
///
/// A submitted write is never withdrawn: cancelling the caller's task does not stop it, because
/// by the time the caller could notice, the batch may already be committed.
///
/// The loop that takes batch after batch runs on GRDB's writer thread itself, and callers are
/// resumed from there before it takes the next batch. It used to be an actor: each turn of its
/// loop then waited on the two-thread concurrency pool behind the very callers the last commit had
/// just resumed, and the writer stood idle meanwhile (under load it was busy two thirds of the
/// time while requests queued for it).
final class GroupCommitWriter: Sendable {
    /// The most writes one transaction takes, so a long queue still commits (and answers its
    /// callers) every few milliseconds instead of holding everyone until the queue is empty.
    static let maximumBatchSize = 256

    private struct State {
        var queue: [PendingWrite] = []
        var isDraining = false
        var isClosed = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        var statistics = GroupCommitStatistics()
    }

    private let pool: DatabasePool
    private let state = Mutex(State())
    /// Told the size of each batch once it has ended (the background checkpointer counts them).
    private let afterBatch: @Sendable (Int) -> Void

    init(pool: DatabasePool, afterBatch: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.pool = pool
        self.afterBatch = afterBatch
    }

    /// How many transactions the writes so far took.
    var statistics: GroupCommitStatistics { state.withLock(\.statistics) }

    /// Queues `work` for the next batch and returns its result once that batch is committed.
    ///
    /// `work` runs on GRDB's writer thread inside a savepoint, with the write lock held: it may
    /// read and write freely, and must not block on anything else.
    func submit<Value: Sendable>(_ work: @escaping @Sendable (Database) throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let write = PendingWrite(work: work, continuation: continuation)
            // Queued in the order callers take the lock.
            let admission = state.withLock { state -> Admission in
                guard !state.isClosed else { return .refused }
                state.queue.append(write)
                guard !state.isDraining else { return .queued }
                state.isDraining = true
                return .startsDraining
            }
            switch admission {
            case .refused:
                continuation.resume(throwing: SQLiteStoreError.closed)
            case .queued:
                break
            case .startsDraining:
                // Serves every queued caller until the queue is empty, whoever started it.
                pool.asyncWriteWithoutTransaction { [self] db in drain(db) }
            }
        }
    }

    private enum Admission {
        case refused, queued, startsDraining
    }

    /// Refuses new writes and returns once the queued ones are committed.
    func close() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let isIdle = state.withLock { state -> Bool in
                state.isClosed = true
                guard state.isDraining else { return true }
                state.idleWaiters.append(waiter)
                return false
            }
            if isIdle { waiter.resume() }
        }
    }

    /// Commits batch after batch until the queue is empty, on the writer thread. Writes that
    /// arrive while a batch commits form the next one. It holds GRDB's writer queue meanwhile, so
    /// anything that goes to the pool's writer directly waits for a quiet moment: the store's own
    /// writes all come through here.
    private func drain(_ db: Database) {
        while let batch = nextBatch() {
            for resume in Self.commit(batch, in: db) { resume() }
            afterBatch(batch.count)
        }
    }

    /// The next batch, or nil when the queue is empty: then draining ends in the same critical
    /// section as the emptiness check, so no write can queue unseen in between.
    private func nextBatch() -> [PendingWrite]? {
        let (batch, waiters) = state.withLock { state -> ([PendingWrite]?, [CheckedContinuation<Void, Never>]) in
            guard state.queue.isEmpty else {
                let size = min(state.queue.count, Self.maximumBatchSize)
                let batch = Array(state.queue.prefix(size))
                state.queue.removeFirst(size)
                state.statistics.record(batchOf: size)
                return (batch, [])
            }
            state.isDraining = false
            defer { state.idleWaiters = [] }
            return (nil, state.idleWaiters)
        }
        for waiter in waiters { waiter.resume() }
        return batch
    }

    /// Runs one batch in one IMMEDIATE transaction and says how to resume every caller exactly
    /// once: from the settlements the transaction produced, or with the error of a BEGIN or
    /// COMMIT that failed.
    private static func commit(_ batch: [PendingWrite], in db: Database) -> [@Sendable () -> Void] {
        var settlements: [Settlement] = []
        settlements.reserveCapacity(batch.count)
        do {
            try db.inTransaction(.immediate) {
                for write in batch {
                    // SQLite rolls the whole transaction back on some errors (disk full, I/O):
                    // later writes must not run outside it, each in a transaction of its own. The
                    // commit below then fails for the batch.
                    guard db.isInsideTransaction else { break }
                    settlements.append(write.run(db))
                }
                return .commit
            }
            return settlements.map(\.committed)
        } catch {
            // BEGIN or COMMIT failed: nothing of this batch is stored.
            return batch.indices.map { index in
                if index < settlements.count {
                    let settlement = settlements[index]
                    return { settlement.rolledBack(error) }
                }
                let write = batch[index]
                return { write.abandon(error) }
            }
        }
    }
}

/// How well group commit works: `writes / batches` is the mean batch size.
package struct GroupCommitStatistics: Sendable, Hashable {
    /// Transactions run (each one COMMIT, so one fsync).
    package var batches = 0
    package var writes = 0
    package var largestBatch = 0

    mutating func record(batchOf size: Int) {
        batches += 1
        writes += size
        largestBatch = max(largestBatch, size)
    }
}

/// One caller's write waiting in the queue: its work, bound to its continuation.
///
/// The continuation is captured by the two closures and by the ``Settlement`` that `run` returns;
/// the writer calls exactly one of `settlement.committed`, `settlement.rolledBack` or `abandon`,
/// exactly once, so every caller is resumed once.
struct PendingWrite: Sendable {
    /// Runs the work in its own savepoint and says how to resume the caller once the batch's
    /// transaction has ended. Never throws: the work's error belongs to its caller alone.
    let run: @Sendable (Database) -> Settlement
    /// Resumes the caller with the batch's error when its work never ran.
    let abandon: @Sendable (any Error) -> Void

    init<Value: Sendable>(work: @escaping @Sendable (Database) throws -> Value, continuation: CheckedContinuation<Value, any Error>) {
        run = { db in
            do {
                var result: Value?
                try db.inSavepoint {
                    result = try work(db)
                    return .commit
                }
                guard let value = result else { preconditionFailure("inSavepoint returned without running its body") }
                return Settlement(
                    committed: { continuation.resume(returning: value) },
                    rolledBack: { continuation.resume(throwing: $0) }
                )
            } catch {
                // Its savepoint is rolled back: the caller gets its own error whatever the batch's fate.
                return Settlement(
                    committed: { continuation.resume(throwing: error) },
                    rolledBack: { _ in continuation.resume(throwing: error) }
                )
            }
        }
        abandon = { continuation.resume(throwing: $0) }
    }
}

/// How a write that ran is answered, once its batch's transaction committed or rolled back.
struct Settlement: Sendable {
    let committed: @Sendable () -> Void
    let rolledBack: @Sendable (any Error) -> Void
}
