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

    /// Checkpoints running while the writer commits lose nothing: every write is there after a
    /// reopen, whichever of the two last touched the file.
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
                #expect(store.walCheckpointStatistics.passes >= 1)
                try await store.close()
            }
            let reopened = try SQLiteTaskStore(path: path)
            for task in tasks {
                #expect(try await reopened.task(task.id) == task)
            }
            try await reopened.close()
        }
    }

    private func fileSize(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
    }
}
