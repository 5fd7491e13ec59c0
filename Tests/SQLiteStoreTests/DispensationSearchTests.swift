import Dispensing
import FHIRModel
import SQLiteStore
import Testing

/// `GET /MedicationDispense` for an insurant: filters, order, paging and the total.
@Suite struct DispensationSearchTests {
    /// Three tasks of the insurant (handovers on 03-01, 03-05 twice, 03-10) and one of someone else.
    private func storeSets(in store: SQLiteTaskStore) async throws -> (first: PrescriptionID, second: PrescriptionID, third: PrescriptionID) {
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

    private func ids(_ page: DispensationPage) -> [String] {
        page.dispensations.compactMap { $0.view.id }
    }

    @Test func insurantsDispensationsComeNewestHandoverFirstThenByID() async throws {
        try await withTemporaryStore { store async throws in
            let (first, second, third) = try await storeSets(in: store)
            let page = try await store.dispensations(matching: DispensationQuery(kvnr: Fixtures.kvnr))
            #expect(page.total == 4)
            #expect(ids(page) == [third.rawValue, second.rawValue, "\(second.rawValue)-1", first.rawValue])
            #expect(page.dispensations.first?.location == "MedicationDispense/\(third.rawValue)")
            #expect(page.dispensations.first?.medicationLocation == "Medication")
            #expect(page.dispensations.last == Fixtures.dispensation(first, position: 0, whenHandedOver: "2025-03-01"))
        }
    }

    @Test(arguments: [
        ([DateComparison(prefix: .eq, date: "2025-03-05")], 2),
        ([DateComparison(prefix: .ne, date: "2025-03-05")], 2),
        ([DateComparison(prefix: .lt, date: "2025-03-05")], 1),
        ([DateComparison(prefix: .le, date: "2025-03-05")], 3),
        ([DateComparison(prefix: .gt, date: "2025-03-05")], 1),
        ([DateComparison(prefix: .ge, date: "2025-03-05")], 3),
        ([DateComparison(prefix: .ge, date: "2025-03-02"), DateComparison(prefix: .lt, date: "2025-03-10")], 2),
        ([DateComparison(prefix: .gt, date: "2025-03-10")], 0),
    ])
    func whenHandedOverComparesPlainDates(comparisons: [DateComparison], matches: Int) async throws {
        try await withTemporaryStore { store async throws in
            _ = try await storeSets(in: store)
            let page = try await store.dispensations(matching: DispensationQuery(kvnr: Fixtures.kvnr, whenHandedOver: comparisons))
            #expect(page.total == matches)
            #expect(page.dispensations.count == matches)
        }
    }

    @Test func prescriptionIDNarrowsToOneTask() async throws {
        try await withTemporaryStore { store async throws in
            let (_, second, _) = try await storeSets(in: store)
            let page = try await store.dispensations(matching: DispensationQuery(kvnr: Fixtures.kvnr, prescriptionID: second))
            #expect(page.total == 2)
            #expect(ids(page) == [second.rawValue, "\(second.rawValue)-1"])

            let someoneElses = try await store.dispensations(
                matching: DispensationQuery(kvnr: Fixtures.kvnr, prescriptionID: Fixtures.prescriptionID(53)))
            #expect(someoneElses.total == 0 && someoneElses.dispensations.isEmpty)
        }
    }

    @Test func pagesSliceTheOrderAndKeepTheTotal() async throws {
        try await withTemporaryStore { store async throws in
            _ = try await storeSets(in: store)
            let all = ids(try await store.dispensations(matching: DispensationQuery(kvnr: Fixtures.kvnr)))
            let firstPage = try await store.dispensations(matching: DispensationQuery(kvnr: Fixtures.kvnr, count: 3, offset: 0))
            let secondPage = try await store.dispensations(matching: DispensationQuery(kvnr: Fixtures.kvnr, count: 3, offset: 3))
            let beyond = try await store.dispensations(matching: DispensationQuery(kvnr: Fixtures.kvnr, count: 3, offset: 6))
            let countOnly = try await store.dispensations(matching: DispensationQuery(kvnr: Fixtures.kvnr, count: 0))
            #expect(ids(firstPage) + ids(secondPage) == all)
            #expect(ids(firstPage).count == 3 && ids(secondPage).count == 1 && beyond.dispensations.isEmpty)
            #expect([firstPage, secondPage, beyond, countOnly].allSatisfy { $0.total == 4 })
            #expect(countOnly.dispensations.isEmpty)
        }
    }

    @Test func replacedSetsLeaveTheSearch() async throws {
        try await withTemporaryStore { store async throws in
            let (first, _, _) = try await storeSets(in: store)
            try await store.update(task: first) { current in
                (TaskChange(task: current, dispensations: .delete, audit: Fixtures.audit(.reject, current.id, at: Fixtures.created)), ())
            }
            let page = try await store.dispensations(matching: DispensationQuery(kvnr: Fixtures.kvnr))
            #expect(page.total == 3)
            #expect(!ids(page).contains(first.rawValue))
        }
    }

    /// A replacement overwrites rows in place only while id, insurant and date stay; a changed
    /// handover date must move the row within the date search, and a new position must appear.
    @Test func aReplacementWithOtherHandoverDatesMovesTheRowsInTheDateSearch() async throws {
        try await withTemporaryStore { store async throws in
            let (first, second, _) = try await storeSets(in: store)
            let replacement = [
                Fixtures.dispensation(first, position: 0, writer: 2, whenHandedOver: "2025-03-20"),
                Fixtures.dispensation(first, position: 1, writer: 2, whenHandedOver: "2025-03-01"),
            ]
            try await store.update(task: first) { current in
                (TaskChange(task: current, dispensations: .replace(replacement), audit: Fixtures.audit(.dispense, first, at: Fixtures.created)), ())
            }
            let late = try await store.dispensations(matching: DispensationQuery(kvnr: Fixtures.kvnr, whenHandedOver: [DateComparison(prefix: .ge, date: "2025-03-15")]))
            #expect(ids(late) == [first.rawValue])
            let early = try await store.dispensations(matching: DispensationQuery(kvnr: Fixtures.kvnr, whenHandedOver: [DateComparison(prefix: .eq, date: "2025-03-01")]))
            #expect(ids(early) == ["\(first.rawValue)-1"])
            #expect(try await store.dispensations(of: first) == replacement)
            // The same dates again (in place), then a shorter set: the dropped position leaves.
            let shorter = [Fixtures.dispensation(second, position: 0, writer: 3, whenHandedOver: "2025-03-05T10:00:00+01:00")]
            try await store.update(task: second) { current in
                (TaskChange(task: current, dispensations: .replace(shorter), audit: Fixtures.audit(.dispense, second, at: Fixtures.created)), ())
            }
            #expect(try await store.dispensations(of: second) == shorter)
            let all = try await store.dispensations(matching: DispensationQuery(kvnr: Fixtures.kvnr))
            #expect(all.total == 4)
            #expect(Set(ids(all)) == [first.rawValue, "\(first.rawValue)-1", second.rawValue, Fixtures.prescriptionID(52).rawValue])
        }
    }
}
