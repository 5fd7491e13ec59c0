import Dispensing
import Foundation
import SQLiteStore
import StoreTestSupport
import Testing

/// `update` writes exactly the change `decide` returns, or nothing at all.
@Suite struct TaskUpdateTests {
    @Test(arguments: StoreKind.allCases) func replaceStoresTheSetAndASecondReplaceReplacesItWhole(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let task = Fixtures.task(Fixtures.prescriptionID(20))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            let first = Fixtures.dispensationSet(task.id, size: 3, writer: 1)
            let second = Fixtures.dispensationSet(task.id, size: 2, writer: 2)
            let firstAudit = Fixtures.audit(.dispense, task.id, at: Fixtures.created.addingTimeInterval(100))
            let secondAudit = Fixtures.audit(.dispense, task.id, at: Fixtures.created.addingTimeInterval(200))

            let outcome = try await store.update(task: task.id) { current in
                var next = current
                next.lastMedicationDispense = firstAudit.recorded
                return (TaskChange(task: next, dispensations: .replace(first), audit: firstAudit), "first")
            }
            #expect(outcome == "first")
            #expect(try await store.dispensations(of: task.id) == first)
            #expect(try await store.task(task.id)?.lastMedicationDispense == firstAudit.recorded)

            try await store.update(task: task.id) { current in
                (TaskChange(task: current, dispensations: .replace(second), audit: secondAudit), ())
            }
            let stored = try await store.dispensations(of: task.id)
            #expect(stored == second)
            #expect(stored.map(\.location) == ["MedicationDispense/\(task.id.rawValue)", "MedicationDispense/\(task.id.rawValue)-1"])
            #expect(stored.allSatisfy { $0.medicationLocation == "Medication" })
            #expect(try await store.auditTrail(of: task.id) == [Fixtures.createAudit(task), firstAudit, secondAudit])
        }
    }

    /// Rows are overwritten in place by position: a new set whose ids sit at other positions than
    /// before (here swapped) must still replace the old one whole, without an id clash.
    @Test(arguments: StoreKind.allCases) func aSetWithIDsAtOtherPositionsReplacesTheOldOne(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let task = Fixtures.task(Fixtures.prescriptionID(25))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            let first = Fixtures.dispensationSet(task.id, size: 3, writer: 1)
            let swapped = [Fixtures.dispensation(task.id, position: 1, writer: 2), Fixtures.dispensation(task.id, position: 0, writer: 2)]
            for set in [first, swapped] {
                try await store.update(task: task.id) { current in
                    (TaskChange(task: current, dispensations: .replace(set), audit: Fixtures.audit(.dispense, current.id, at: Fixtures.created)), ())
                }
            }
            #expect(try await store.dispensations(of: task.id) == swapped)
        }
    }

    @Test(arguments: StoreKind.allCases) func keepLeavesTheSetAndDeleteRemovesIt(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let task = Fixtures.task(Fixtures.prescriptionID(21))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            let set = Fixtures.dispensationSet(task.id, size: 2, writer: 1)
            let audits = [AuditEntry.Action.dispense, .close, .abort].enumerated().map { index, action in
                Fixtures.audit(action, task.id, at: Fixtures.created.addingTimeInterval(Double(index + 1) * 10))
            }
            try await store.update(task: task.id) { (TaskChange(task: $0, dispensations: .replace(set), audit: audits[0]), ()) }

            try await store.update(task: task.id) { current in
                var next = current
                next.status = .completed
                next.receipt = Fixtures.receipt(current.id)
                return (TaskChange(task: next, dispensations: .keep, audit: audits[1]), ())
            }
            #expect(try await store.dispensations(of: task.id) == set)
            #expect(try await store.task(task.id)?.receipt == Fixtures.receipt(task.id))

            try await store.update(task: task.id) { current in
                var next = current
                next.status = .cancelled
                next.prescription = nil
                next.receipt = nil
                return (TaskChange(task: next, dispensations: .delete, audit: audits[2]), ())
            }
            #expect(try await store.dispensations(of: task.id).isEmpty)
            let cancelled = try #require(try await store.task(task.id))
            #expect(cancelled.status == .cancelled && cancelled.kvnr == Fixtures.kvnr)
            #expect(cancelled.prescription == nil && cancelled.receipt == nil)
            #expect(try await store.auditTrail(of: task.id).map(\.action) == [.create, .dispense, .close, .abort])
        }
    }

    @Test(arguments: StoreKind.allCases) func dispensationWithoutMedicationReadsBackWithoutMedicationLocation(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let task = Fixtures.task(Fixtures.prescriptionID(22))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            let diga = Fixtures.dispensation(task.id, position: 0, withMedication: false)
            try await store.update(task: task.id) { current in
                (TaskChange(task: current, dispensations: .replace([diga]), audit: Fixtures.audit(.dispense, current.id, at: Fixtures.created)), ())
            }
            let stored = try await store.dispensations(of: task.id)
            #expect(stored == [diga])
            #expect(stored.first?.medication == nil && stored.first?.medicationLocation == nil)
        }
    }

    @Test(arguments: StoreKind.allCases) func refusingDecideWritesNothingAndItsErrorComesBackUnchanged(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let task = Fixtures.task(Fixtures.prescriptionID(23))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            let set = Fixtures.dispensationSet(task.id, size: 2, writer: 1)
            try await store.update(task: task.id) { current in
                (TaskChange(task: current, dispensations: .replace(set), audit: Fixtures.audit(.dispense, current.id, at: Fixtures.created)), ())
            }
            let before = try await store.task(task.id)
            let trailBefore = try await store.auditTrail(of: task.id)

            await #expect(throws: DispensingError.wrongStatus(current: .inProgress, required: [.ready])) {
                try await store.update(task: task.id) { current -> (TaskChange, Void) in
                    throw DispensingError.wrongStatus(current: current.status, required: [.ready])
                }
            }
            #expect(try await store.task(task.id) == before)
            #expect(try await store.dispensations(of: task.id) == set)
            #expect(try await store.auditTrail(of: task.id) == trailBefore)
        }
    }

    /// A change that fails while being written (here: two MedicationDispenses with one id) is
    /// rolled back whole, task row and audit included.
    @Test(arguments: StoreKind.allCases) func failingWriteOfAChangeRollsBackTheWholeChange(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let task = Fixtures.task(Fixtures.prescriptionID(24))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            let clash = [Fixtures.dispensation(task.id, position: 0), Fixtures.dispensation(task.id, position: 0)]
            await #expect(throws: (any Error).self) {
                try await store.update(task: task.id) { current in
                    var next = current
                    next.status = .completed
                    return (TaskChange(task: next, dispensations: .replace(clash), audit: Fixtures.audit(.close, current.id, at: Fixtures.created)), ())
                }
            }
            #expect(try await store.task(task.id) == task)
            #expect(try await store.dispensations(of: task.id).isEmpty)
            #expect(try await store.auditTrail(of: task.id).count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases) func unknownTaskIsTaskNotFoundAndDecideIsNotCalled(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            await #expect(throws: DispensingError.taskNotFound) {
                try await store.update(task: Fixtures.prescriptionID(25)) { current -> (TaskChange, Void) in
                    Issue.record("decide must not run for an unknown task")
                    return (TaskChange(task: current, audit: Fixtures.createAudit(current)), ())
                }
            }
        }
    }

    @Test(arguments: StoreKind.allCases) func changeOfAnotherTaskIsRefused(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let task = Fixtures.task(Fixtures.prescriptionID(26))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            let stranger = Fixtures.task(Fixtures.prescriptionID(27))
            let error = await #expect(throws: (any Error).self) {
                try await store.update(task: task.id) { _ in (TaskChange(task: stranger, audit: Fixtures.createAudit(stranger)), ()) }
            }
            #expect(error.map(isChangeOfAnotherTask) == true)
            #expect(try await store.task(stranger.id) == nil)
        }
    }

    /// A rule reads the objections and the stored set through its snapshot, inside the transaction:
    /// what it sees is what is stored (PostgreSQL fetches each read when first asked and runs the
    /// rule again; the rule only sees the answers).
    @Test(arguments: StoreKind.allCases) func aRuleSeesTheObjectionsAndTheSetStoredForItsTask(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let task = Fixtures.task(Fixtures.prescriptionID(28))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            let set = Fixtures.dispensationSet(task.id, size: 2, writer: 1)
            try await store.update(task: task.id) { (TaskChange(task: $0, dispensations: .replace(set), audit: Fixtures.audit(.dispense, $0.id, at: Fixtures.created)), ()) }
            let objection = Objection(kvnr: Fixtures.kvnr, category: .medication, source: .consentResource, since: Fixtures.created)
            try await store.record(objection)
            let seen = try await store.update(task.id) { snapshot in
                let seen = (try snapshot.objections(Fixtures.kvnr), try snapshot.objections(Fixtures.otherKVNR), try snapshot.dispensations())
                return (TaskChange(task: snapshot.task, audit: Fixtures.audit(.close, task.id, at: Fixtures.created)), seen)
            }
            #expect(seen.0 == [objection])
            #expect(seen.1.isEmpty)
            #expect(seen.2 == set)
            #expect(try await store.auditTrail(of: task.id).map(\.action) == [.create, .dispense, .close])
        }
    }
}
