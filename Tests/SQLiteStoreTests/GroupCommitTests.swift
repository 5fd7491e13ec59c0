import Dispensing
import Foundation
import SQLiteStore
import Testing

/// Concurrent writes share commits, yet each one behaves as if it ran alone and in order.
@Suite struct GroupCommitTests {
    /// ARCHITECTURE decision 2: two concurrent `$dispense` calls never mix their sets.
    @Test func concurrentReplacementsOfOneTaskLeaveExactlyOneWholeSet() async throws {
        try await withTemporaryStore { store async throws in
            let task = Fixtures.task(Fixtures.prescriptionID(30))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))

            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 1...20 {
                    let set = Fixtures.dispensationSet(task.id, size: writer, writer: writer)
                    let stamp = Fixtures.created.addingTimeInterval(Double(writer))
                    group.addTask {
                        try await store.update(task: task.id) { current in
                            var next = current
                            next.lastMedicationDispense = stamp
                            return (TaskChange(task: next, dispensations: .replace(set), audit: Fixtures.audit(.dispense, current.id, at: stamp)), ())
                        }
                    }
                }
                try await group.waitForAll()
            }

            let stored = try await store.dispensations(of: task.id)
            let writers = Set(stored.map(Fixtures.writerTag(of:)))
            #expect(writers.count == 1)
            let winner = try #require(writers.first ?? nil)
            #expect(stored == Fixtures.dispensationSet(task.id, size: winner, writer: winner))

            let trail = try await store.auditTrail(of: task.id)
            #expect(trail.count == 21)
            #expect(Set(trail.dropFirst().map(\.recorded)).count == 20)
            // The last write in commit order is the one whose set and task row are stored.
            let lastStamp = Fixtures.created.addingTimeInterval(Double(winner))
            #expect(trail.last?.recorded == lastStamp)
            #expect(try await store.task(task.id)?.lastMedicationDispense == lastStamp)
        }
    }

    /// Every `decide` sees the state the previous write of the same task left, also when both
    /// share a batch: 50 concurrent increments lose none.
    @Test func concurrentUpdatesOfOneTaskAreSerialisedWithoutLostUpdates() async throws {
        try await withTemporaryStore { store async throws in
            let task = Fixtures.task(Fixtures.prescriptionID(31))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            try await incrementConcurrently(store, ids: Array(repeating: task.id, count: 50))

            let stored = try #require(try await store.task(task.id))
            #expect(stored.lastModified == task.lastModified.addingTimeInterval(50))
            let stamps = try await store.auditTrail(of: task.id).dropFirst().map(\.recorded)
            #expect(stamps == (1...50).map { task.lastModified.addingTimeInterval(Double($0)) })
        }
    }

    @Test func manyConcurrentUpdatesAcrossTasksShareCommits() async throws {
        try await withTemporaryStore { store async throws in
            let tasks = (0..<50).map { Fixtures.task(Fixtures.prescriptionID(1000 + $0)) }
            for task in tasks {
                #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            }
            let before = await store.groupCommitStatistics()

            try await incrementConcurrently(store, ids: (0..<200).map { tasks[$0 % 50].id })

            let after = await store.groupCommitStatistics()
            #expect(after.writes - before.writes == 200)
            #expect(after.batches - before.batches < 200)
            #expect(after.largestBatch > 1)
            for task in tasks {
                #expect(try await store.task(task.id)?.lastModified == task.lastModified.addingTimeInterval(4))
                #expect(try await store.auditTrail(of: task.id).count == 5)
            }
        }
    }

    /// Refused rules and failing SQL in a batch roll back only their own savepoint: each gets its
    /// own error, the rest of the batch commits.
    @Test func failingWritesInABatchDoNotAffectTheOthers() async throws {
        try await withTemporaryStore { store async throws in
            let tasks = (0..<31).map { Fixtures.task(Fixtures.prescriptionID(2000 + $0)) }
            for task in tasks {
                #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            }
            let before = await store.groupCommitStatistics()

            // Holds the writer (tasks[30]) so the 30 writes below queue up into one batch.
            let blocker = Task {
                try await store.update(task: tasks[30].id) { current in
                    Thread.sleep(forTimeInterval: 0.3)
                    return (TaskChange(task: current, audit: Fixtures.audit(.read, current.id, at: Fixtures.created)), ())
                }
            }
            while await store.groupCommitStatistics().batches == before.batches { try await Task.sleep(for: .milliseconds(1)) }

            let results = await withTaskGroup(of: (Int, Result<Int, any Error>).self) { group in
                for number in 0..<30 {
                    let id = tasks[number].id
                    let set = number % 3 == 1
                        ? [Fixtures.dispensation(id, position: 0, writer: number), Fixtures.dispensation(id, position: 0, writer: number)]
                        : Fixtures.dispensationSet(id, size: 2, writer: number)
                    group.addTask {
                        let result = await Result(catching: {
                            try await store.update(task: id) { current in
                                if number % 3 == 0 { throw RuleRefused(number: number) }
                                return (TaskChange(task: current, dispensations: .replace(set), audit: Fixtures.audit(.dispense, id, at: Fixtures.created)), number)
                            }
                        })
                        return (number, result)
                    }
                }
                return await group.reduce(into: [Int: Result<Int, any Error>]()) { $0[$1.0] = $1.1 }
            }
            try await blocker.value

            for (number, task) in tasks.prefix(30).enumerated() {
                let stored = try await store.dispensations(of: task.id)
                let trail = try await store.auditTrail(of: task.id)
                switch (number % 3, results[number]) {
                case let (0, .failure(error)):
                    #expect(error as? RuleRefused == RuleRefused(number: number))
                    #expect(stored.isEmpty && trail.count == 1)
                case (1, .failure):
                    #expect(stored.isEmpty && trail.count == 1)
                case let (2, .success(outcome)):
                    #expect(outcome == number)
                    #expect(stored == Fixtures.dispensationSet(task.id, size: 2, writer: number))
                    #expect(trail.count == 2)
                default:
                    Issue.record("write \(number) ended as \(String(describing: results[number]))")
                }
            }
            let after = await store.groupCommitStatistics()
            #expect(after.largestBatch > 1)
            #expect(after.batches - before.batches < 31)
        }
    }

    @Test func concurrentInsertsOfOneIDAdmitExactlyOne() async throws {
        try await withTemporaryStore { store async throws in
            let accepted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for number in 0..<10 {
                    let task = Fixtures.task(Fixtures.prescriptionID(40), created: Fixtures.created.addingTimeInterval(Double(number)))
                    group.addTask { try await store.insert(task, audit: Fixtures.createAudit(task)) }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(accepted == 1)
            #expect(try await store.auditTrail(of: Fixtures.prescriptionID(40)).count == 1)
        }
    }

    /// Each update adds one second to `lastModified` and audits the new value.
    private func incrementConcurrently(_ store: SQLiteTaskStore, ids: [PrescriptionID]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids {
                group.addTask {
                    try await store.update(task: id) { current in
                        var next = current
                        next.lastModified = current.lastModified.addingTimeInterval(1)
                        return (TaskChange(task: next, audit: Fixtures.audit(.dispense, id, at: next.lastModified)), ())
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
