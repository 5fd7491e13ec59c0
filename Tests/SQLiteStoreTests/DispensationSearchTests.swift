import Dispensing
import FHIRModel
import SQLiteStore
import StoreTestSupport
import Testing

/// The sets `GET /MedicationDispense` searches: an insurant's, by task, each in the order sent
/// (the filters, sort and answer are the server's, tested over HTTP).
@Suite struct DispensationSearchTests {
    /// Three tasks of the insurant (handovers on 03-01, 03-05 twice, 03-10) and one of someone else.
    private func storeSets(in store: some TaskStore) async throws -> (first: PrescriptionID, second: PrescriptionID, third: PrescriptionID) {
        let first = Fixtures.prescriptionID(50), second = Fixtures.prescriptionID(51), third = Fixtures.prescriptionID(52)
        let sets: [(PrescriptionID, KVNR, [String])] = [
            (first, Fixtures.kvnr, ["2025-03-01"]),
            (second, Fixtures.kvnr, ["2025-03-05T10:00:00+01:00", "2025-03-05"]),
            (third, Fixtures.kvnr, ["2025-03-10"]),
            (Fixtures.prescriptionID(53), Fixtures.otherKVNR, ["2025-03-05"]),
        ]
        for (id, kvnr, handovers) in sets {
            let task = Fixtures.task(id, kvnr: kvnr)
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            let set = handovers.enumerated().map { position, handover in
                Fixtures.dispensation(id, position: position, kvnr: kvnr, whenHandedOver: handover)
            }
            try await store.update(task: id) { current in
                (TaskChange(task: current, dispensations: .replace(set), audit: Fixtures.audit(.dispense, id, at: Fixtures.created)), ())
            }
        }
        return (first, second, third)
    }

    private func ids(_ sets: [DispensationSet]) -> [String] {
        sets.flatMap(\.dispensations).compactMap { $0.view.id }
    }

    @Test(arguments: StoreKind.allCases) func anInsurantsSetsComeByTaskEachInTheOrderSent(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let (first, second, third) = try await storeSets(in: store)
            let sets = try await store.dispensationSets(of: Fixtures.kvnr)
            #expect(sets.map(\.prescriptionID) == [first, second, third])
            #expect(ids(sets) == [first.rawValue, second.rawValue, "\(second.rawValue)-1", third.rawValue])
            #expect(sets.first?.dispensations.first?.location == "MedicationDispense/\(first.rawValue)")
            #expect(sets.first?.dispensations.first?.medicationLocation == "Medication")
            #expect(sets.first?.dispensations == [Fixtures.dispensation(first, position: 0, whenHandedOver: "2025-03-01")])
            #expect(try await store.dispensationSets(of: Fixtures.otherKVNR).map(\.prescriptionID) == [Fixtures.prescriptionID(53)])
        }
    }

    @Test(arguments: StoreKind.allCases) func deletedSetsLeaveTheSearch(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let (first, _, _) = try await storeSets(in: store)
            try await store.update(task: first) { current in
                (TaskChange(task: current, dispensations: .delete, audit: Fixtures.audit(.reject, current.id, at: Fixtures.created)), ())
            }
            let sets = try await store.dispensationSets(of: Fixtures.kvnr)
            #expect(sets.count == 2)
            #expect(!ids(sets).contains(first.rawValue))
        }
    }

    /// A replacement overwrites rows in place only while id, insurant and date stay; a new position
    /// must appear and a dropped one leave.
    @Test(arguments: StoreKind.allCases) func aReplacementIsWhatTheSearchSees(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let (first, second, _) = try await storeSets(in: store)
            let replacement = [
                Fixtures.dispensation(first, position: 0, writer: 2, whenHandedOver: "2025-03-20"),
                Fixtures.dispensation(first, position: 1, writer: 2, whenHandedOver: "2025-03-01"),
            ]
            try await store.update(task: first) { current in
                (TaskChange(task: current, dispensations: .replace(replacement), audit: Fixtures.audit(.dispense, first, at: Fixtures.created)), ())
            }
            #expect(try await store.dispensationSets(of: Fixtures.kvnr).first?.dispensations == replacement)
            let shorter = [Fixtures.dispensation(second, position: 0, writer: 3, whenHandedOver: "2025-03-05T10:00:00+01:00")]
            try await store.update(task: second) { current in
                (TaskChange(task: current, dispensations: .replace(shorter), audit: Fixtures.audit(.dispense, second, at: Fixtures.created)), ())
            }
            let sets = try await store.dispensationSets(of: Fixtures.kvnr)
            #expect(Set(ids(sets)) == [first.rawValue, "\(first.rawValue)-1", second.rawValue, Fixtures.prescriptionID(52).rawValue])
        }
    }
}
