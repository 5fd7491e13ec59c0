import Dispensing
import Foundation
import SQLiteStore
import Testing

/// The WAL is copied into the database file beside the writer, not by it, and nothing is lost
/// on the way.
@Suite struct WALCheckpointTests {
    /// The database file itself is written only by checkpoints. With the writer's own
    /// checkpoint at 8,000 pages, far beyond these few writes, a file that grows was written by
    /// the background checkpointer.
    @Test func backgroundCheckpointCopiesCommittedWritesIntoTheDatabaseFile() async throws {
        try await withTemporaryDirectory { directory async throws in
            let path = Fixtures.databasePath(in: directory)
            let store = try SQLiteTaskStore(path: path, checkpointInterval: 10)
            let before = try fileSize(path)
            let tasks = (0..<40).map { Fixtures.task(Fixtures.prescriptionID(3000 + $0)) }
            for task in tasks {
                #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while store.walCheckpointStatistics.passes < 2, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(store.walCheckpointStatistics.passes >= 2)
            #expect(store.walCheckpointStatistics.failedPasses == 0)
            #expect(try fileSize(path) > before)
            try await store.close()
        }
    }

    /// Checkpoints running while the writer commits leave a sound file: every write is there after
    /// a reopen and SQLite's integrity check passes. (A smoke test: a reopen also recovers from the
    /// WAL, so it proves the two connections do not damage the file, not each copy.)
    @Test func writesCommittedDuringCheckpointsSurviveReopening() async throws {
        try await withTemporaryDirectory { directory async throws in
            let path = Fixtures.databasePath(in: directory)
            let tasks = (0..<60).map { Fixtures.task(Fixtures.prescriptionID(4000 + $0)) }
            do {
                let store = try SQLiteTaskStore(path: path, checkpointInterval: 3)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for task in tasks {
                        group.addTask { _ = try await store.insert(task, audit: Fixtures.createAudit(task)) }
                    }
                    try await group.waitForAll()
                }
                try await store.close()
                // Deterministic only after `close`: a pass starts after the batch's callers are
                // resumed, and closing waits for it.
                #expect(store.walCheckpointStatistics.passes >= 1)
                #expect(store.walCheckpointStatistics.failedPasses == 0)
            }
            let reopened = try SQLiteTaskStore(path: path)
            for task in tasks {
                #expect(try await reopened.task(task.id) == task)
            }
            #expect(try await reopened.readUnchecked(sql: "PRAGMA integrity_check") == ["ok"])
            try await reopened.close()
        }
    }

    private func fileSize(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
    }
}
