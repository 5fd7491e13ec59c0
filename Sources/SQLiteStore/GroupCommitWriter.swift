import GRDB

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
actor GroupCommitWriter {
    /// The most writes one transaction takes, so a long queue still commits (and answers its
    /// callers) every few milliseconds instead of holding everyone until the queue is empty.
    static let maximumBatchSize = 256

    private let pool: DatabasePool
    private var queue: [PendingWrite] = []
    private var isDraining = false
    private var isClosed = false
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    private(set) var statistics = GroupCommitStatistics()

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Queues `work` for the next batch and returns its result once that batch is committed.
    ///
    /// `work` runs on GRDB's writer thread inside a savepoint, with the write lock held: it may
    /// read and write freely, and must not block on anything else.
    func submit<Value: Sendable>(_ work: @escaping @Sendable (Database) throws -> Value) async throws -> Value {
        guard !isClosed else { throw SQLiteStoreError.closed }
        // The body runs synchronously on this actor (the continuation's isolation), so the write
        // is queued in the order callers reached the actor.
        return try await withCheckedThrowingContinuation { continuation in
            queue.append(PendingWrite(work: work, continuation: continuation))
            guard !isDraining else { return }
            isDraining = true
            // Unstructured on purpose: draining serves every queued caller, so it must not belong to
            // (or be cancelled with) the one caller that happened to find the writer idle. It ends
            // when the queue is empty.
            Task { await self.drain() }
        }
    }

    /// Refuses new writes and returns once the queued ones are committed.
    func close() async {
        isClosed = true
        guard isDraining else { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    /// Commits batch after batch until the queue is empty. Writes that arrive while a batch
    /// commits (the actor is free during the `await`) form the next one.
    private func drain() async {
        while !queue.isEmpty {
            let size = min(queue.count, Self.maximumBatchSize)
            let batch = Array(queue.prefix(size))
            queue.removeFirst(size)
            statistics.record(batchOf: size)
            await Self.commit(batch, in: pool)
        }
        // Same actor turn as the emptiness check, so no write can queue unseen in between.
        isDraining = false
        let waiters = idleWaiters
        idleWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    /// Runs one batch in one IMMEDIATE transaction and resumes every caller exactly once: from the
    /// settlements the transaction produced, or, if the writer could not run it at all, with the
    /// writer's error.
    private static func commit(_ batch: [PendingWrite], in pool: DatabasePool) async {
        let resumptions: [@Sendable () -> Void]
        do {
            resumptions = try await pool.writeWithoutTransaction { db in
                var settlements: [Settlement] = []
                settlements.reserveCapacity(batch.count)
                do {
                    try db.inTransaction(.immediate) {
                        for write in batch {
                            // SQLite rolls the whole transaction back on some errors (disk full,
                            // I/O): later writes must not run outside it, each in a transaction of
                            // its own. The commit below then fails for the batch.
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
        } catch {
            // The closure never ran (a closed connection): nobody has been settled.
            resumptions = batch.map { write in { write.abandon(error) } }
        }
        for resume in resumptions { resume() }
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
