import Dispensing
import FHIRFormats
import FHIRModel
import Foundation
import SQLiteStore
import Testing

/// `update(_:staging:_:)` serialises the staged resources before the writer's turn; what is stored
/// must still be exactly what the rule returned, staged or not.
@Suite struct StagedEncodingTests {
    /// A transfer whose payload carries the set's resources, as a `provide-dispensation-erp` does.
    static func transfer(of set: [Dispensation], _ id: PrescriptionID) -> RegistryTransfer {
        let parts = set.flatMap { dispensation in
            [dispensation.medicationDispense] + (dispensation.medication.map { [$0] } ?? [])
        }.map { Element(name: "part", children: [Element(name: "name", value: "resource"), Element(name: "resource", children: [$0])]) }
        let payload = Element(name: "Parameters", children: [Element(name: "parameter", children: [Element(name: "name", value: "rxDispensation")] + parts)])
        return RegistryTransfer(operation: .provideDispensation, kvnr: Fixtures.kvnr, prescriptionID: id, status: .inProgress,
                                idempotencyKey: "key-\(id.rawValue)", payload: payload)
    }

    /// Stores `set` with its transfer through `update(_:staging:_:)` and returns the stored JSON of
    /// the dispensations, the medications and the outbox payload.
    static func store(_ set: [Dispensation], staging: [Element], in store: SQLiteTaskStore, task: PrescriptionTask) async throws -> [String?] {
        try await store.update(task.id, staging: staging) { snapshot in
            (TaskChange(task: snapshot.task, dispensations: .replace(set), audit: Fixtures.audit(.dispense, task.id, at: Fixtures.created),
                        transfer: transfer(of: set, task.id)), ())
        }
        return try await store.readUnchecked(sql: """
            SELECT CAST(resource AS TEXT) FROM medication_dispense WHERE task_id = '\(task.id.rawValue)'
            UNION ALL SELECT CAST(medication AS TEXT) FROM medication_dispense WHERE task_id = '\(task.id.rawValue)'
            UNION ALL SELECT CAST(payload AS TEXT) FROM outbox WHERE task_id = '\(task.id.rawValue)'
            """)
    }

    /// What the store holds when it encodes everything itself.
    static func expected(_ set: [Dispensation], _ id: PrescriptionID) throws -> [String?] {
        func json(_ element: Element) throws -> String { String(decoding: try FHIRFormat.json.write(element), as: UTF8.self) }
        return try set.map { try json($0.medicationDispense) } + set.map { try $0.medication.map(json) }
            + [try json(transfer(of: set, id).payload)]
    }

    @Test func stagedResourcesAreStoredExactlyAsEncodedInside() async throws {
        try await withTemporaryStore { store async throws in
            let task = Fixtures.task(Fixtures.prescriptionID(70))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            let set = Fixtures.dispensationSet(task.id, size: 2, writer: 1)
            let staging = set.flatMap { [$0.medicationDispense] + ($0.medication.map { [$0] } ?? []) }
            #expect(try await Self.store(set, staging: staging, in: store, task: task) == Self.expected(set, task.id))
        }
    }

    /// Staging is a hint: a staged set the rule does not return is not what gets stored.
    @Test func onlyWhatTheRuleReturnsIsStored() async throws {
        try await withTemporaryStore { store async throws in
            let task = Fixtures.task(Fixtures.prescriptionID(71))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            let returned = Fixtures.dispensationSet(task.id, size: 2, writer: 1)
            let staged = Fixtures.dispensationSet(task.id, size: 2, writer: 2)
            let staging = staged.flatMap { [$0.medicationDispense] + ($0.medication.map { [$0] } ?? []) }
            let stored = try await Self.store(returned, staging: staging, in: store, task: task)
            #expect(stored == (try Self.expected(returned, task.id)))
            #expect(stored != (try Self.expected(staged, task.id)))
        }
    }
}
