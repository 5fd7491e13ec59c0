import Dispensing
import FHIRModel
import Foundation
import SQLiteStore
import StoreTestSupport
import Testing

/// The store side of issue 24: the pharmacy's worklist and history as paged queries (v12's
/// indexes), and the daily eGK lock's shared count (A_27445, A_27446), on both stores.
@Suite struct PharmacyStoreTests {
    static let other = TelematikID("3-SMC-B-Testkarte-883110000095958")!

    /// Four tasks: two in progress and one completed of the pharmacy, one in progress of another,
    /// accepted in this order; each dispensed once, handed over on the given days.
    private func storeTasks(in store: some TaskStore) async throws -> [PrescriptionID] {
        let plan: [(TelematikID, TaskStatus, String)] = [
            (Fixtures.pharmacyID, .inProgress, "2025-03-05"), (Self.other, .inProgress, "2025-03-04"),
            (Fixtures.pharmacyID, .completed, "2025-03-01"), (Fixtures.pharmacyID, .inProgress, "2025-03-10"),
        ]
        var ids: [PrescriptionID] = []
        for (index, (owner, status, handover)) in plan.enumerated() {
            let id = Fixtures.prescriptionID(80 + index)
            var task = Fixtures.task(id)
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            task.owner = owner
            task.status = status
            task.acceptedAt = Fixtures.created.addingTimeInterval(Double(index))
            let set = [Fixtures.dispensation(id, position: 0, whenHandedOver: handover)]
            let change = task
            try await store.update(task: id) { _ in
                (TaskChange(task: change, dispensations: .replace(set), audit: Fixtures.audit(.dispense, id, at: Fixtures.created)), ())
            }
            ids.append(id)
        }
        return ids
    }

    @Test(arguments: StoreKind.allCases) func theWorklistIsTheOwnersTasksByAcceptancePaged(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let ids = try await storeTasks(in: store)
            let reads = try #require(store as? any PharmacyReadStore)
            func page(_ statuses: Set<TaskStatus>, offset: Int = 0, count: Int = 50, descending: Bool = false,
                      owner: TelematikID = Fixtures.pharmacyID) async throws -> ([PrescriptionID], Int) {
                let result = try await reads.worklist(WorklistQuery(owner: owner, statuses: statuses,
                                                                    page: PageRequest(offset: offset, count: count, descending: descending)))
                return (result.items.map(\.id), result.total)
            }
            #expect(try await page([.inProgress]) == ([ids[0], ids[3]], 2))
            #expect(try await page([.inProgress, .completed]) == ([ids[0], ids[2], ids[3]], 3))
            #expect(try await page([.inProgress, .completed], descending: true) == ([ids[3], ids[2], ids[0]], 3))
            #expect(try await page([.inProgress, .completed], offset: 1, count: 1) == ([ids[2]], 3))
            #expect(try await page([.inProgress, .completed], offset: 0, count: 0) == ([], 3))
            #expect(try await page([.inProgress], owner: Self.other) == ([ids[1]], 1))
            #expect(try await page([]) == ([], 0))
            let task = try #require(try await reads.worklist(WorklistQuery(owner: Fixtures.pharmacyID, statuses: [.completed],
                                                                           page: PageRequest(offset: 0, count: 1, descending: false))).items.first)
            #expect(task.id == ids[2] && task.secret == Fixtures.secret && task.owner == Fixtures.pharmacyID)
        }
    }

    @Test(arguments: StoreKind.allCases) func theHistoryIsThePerformersDispensationsByDayPaged(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let ids = try await storeTasks(in: store)
            let reads = try #require(store as? any PharmacyReadStore)
            func page(_ days: [[DayRange]] = [], offset: Int = 0, count: Int = 50, descending: Bool = false) async throws -> ([String], Int) {
                let result = try await reads.dispensationHistory(DispensationHistoryQuery(
                    performer: Fixtures.pharmacyID, handedOver: days, page: PageRequest(offset: offset, count: count, descending: descending)))
                #expect(result.items.allSatisfy { $0.medication != nil })
                return (result.items.compactMap { $0.view.id }, result.total)
            }
            #expect(try await page() == ([ids[2], ids[0], ids[3]].map(\.rawValue), 3))
            #expect(try await page(descending: true) == ([ids[3], ids[0], ids[2]].map(\.rawValue), 3))
            #expect(try await page(offset: 1, count: 1) == ([ids[0].rawValue], 3))
            #expect(try await page([[DayRange(from: "2025-03-02", through: nil)]]) == ([ids[0], ids[3]].map(\.rawValue), 2))
            #expect(try await page([[DayRange(from: "2025-03-02", through: nil)], [DayRange(from: nil, through: "2025-03-09")]])
                == ([ids[0].rawValue], 1))
            #expect(try await page([[DayRange(from: nil, through: "2025-03-01"), DayRange(from: "2025-03-10", through: "2025-03-10")]])
                == ([ids[2], ids[3]].map(\.rawValue), 2))
            #expect(try await page([[DayRange(from: "2025-03-06", through: "2025-03-05")]]) == ([], 0))
            #expect(try await page([[]]) == ([], 0))
        }
    }

    /// Concurrent failures each count (no lost update), per pharmacy and day; counting removes
    /// earlier days' rows.
    @Test(arguments: StoreKind.allCases) func proofFailuresCountAtomicallyPerPharmacyAndDay(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let failures = try #require(store as? any ProofFailureStore)
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<40 { group.addTask { try await failures.recordProofFailure(of: Fixtures.pharmacyID, day: 20_000) } }
                var counts: [Int] = []
                for try await count in group { counts.append(count) }
                #expect(counts.sorted() == Array(1...40))
            }
            #expect(try await failures.proofFailures(of: Fixtures.pharmacyID, day: 20_000) == 40)
            #expect(try await failures.proofFailures(of: Self.other, day: 20_000) == 0)
            #expect(try await failures.recordProofFailure(of: Self.other, day: 20_000) == 1)
            #expect(try await failures.recordProofFailure(of: Self.other, day: 20_001) == 1)
            #expect(try await failures.proofFailures(of: Fixtures.pharmacyID, day: 20_000) == 0)
            #expect(try await store.readUnchecked(sql: "SELECT count(*) FROM egk_proof_failure") == ["1"])
        }
    }

    /// v12 on a file written before it: the dispensations take their task's owner as performer.
    @Test func v12GivesExistingDispensationsTheirTasksOwner() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("erx-v10-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let id = Fixtures.prescriptionID(90)
        try SQLiteTaskStore.legacyDatabase(at: path, through: "v10", then: """
            INSERT INTO task (id, status, flow_type, kvnr, owner, created_at, last_modified, accepted_at)
                VALUES ('\(id.rawValue)', 'in-progress', 160, '\(Fixtures.kvnr.rawValue)', '\(Fixtures.pharmacyID.rawValue)', 0, 0, 1);
            INSERT INTO medication_dispense (task_id, position, id, kvnr, when_handed_over, resource)
                VALUES ('\(id.rawValue)', 0, '\(id.rawValue)', '\(Fixtures.kvnr.rawValue)', '2025-03-01', CAST('{}' AS BLOB));
            """)
        let store = try SQLiteTaskStore(path: path)
        #expect(try await store.readUnchecked(sql: "SELECT performer FROM medication_dispense") == [Fixtures.pharmacyID.rawValue])
        let worklist = try await store.worklist(WorklistQuery(owner: Fixtures.pharmacyID, statuses: [.inProgress],
                                                              page: PageRequest(offset: 0, count: 10, descending: false)))
        #expect(worklist.items.map(\.id) == [id])
        try await store.close()
    }
}
