import Dispensing
import FHIRModel
import Foundation
import Testing

/// Which change goes to the registry, in which ePA shape (dispense-spec.md §5.2), and the 423 check.
struct RegistryTransferTests {
    static func transfer(_ change: TaskChange, before: PrescriptionTask, stored: [Dispensation] = []) throws -> RegistryTransfer? {
        try RegistryTransfers.transfer(for: change, before: before, storedDispensations: { stored }, ids: FixedIDs())
    }

    static func parts(_ payload: Element) -> [Element] {
        payload.child("parameter")?.children(named: "part") ?? []
    }

    static func part(_ payload: Element, _ name: String) -> [Element] {
        parts(payload).filter { $0.value(of: "name") == name }
    }

    @Test func dispenseProvidesTheNewSetInProgressWithTheEpaProfilesAndReferences() throws {
        let task = Fixtures.task(.inProgress)
        let change = try DispenseRulesTests.dispense(task)
        let transfer = try #require(try Self.transfer(change, before: task))
        #expect(transfer.operation == .provideDispensation)
        #expect(transfer.status == .inProgress)
        #expect(transfer.kvnr == Fixtures.kvnr)
        #expect(transfer.prescriptionID == task.id)
        #expect(transfer.idempotencyKey == Fixtures.uuids[0])
        let payload = transfer.payload
        #expect(payload.name == "Parameters")
        #expect(payload.descendant("meta", "profile")?.value == "https://gematik.de/fhir/epa-medication/StructureDefinition/epa-op-provide-dispensation-erp-input-parameters")
        #expect(payload.child("parameter")?.value(of: "name") == "rxDispensation")
        #expect(Self.part(payload, "prescriptionId").first?.descendant("valueIdentifier", "value")?.value == task.id.rawValue)
        #expect(Self.part(payload, "authoredOn").first?.value(of: "valueDate") == "2025-03-01")
        #expect(Self.part(payload, "status").first?.value(of: "valueCode") == "in-progress")
        let dispense = try #require(Self.part(payload, "medicationDispense").first?.child("resource")?.wrappedResource)
        #expect(dispense.descendant("meta", "profile")?.value == "https://gematik.de/fhir/epa-medication/StructureDefinition/epa-medication-dispense")
        let medication = try #require(Self.part(payload, "medication").first?.child("resource")?.wrappedResource)
        #expect(medication.descendant("meta", "profile")?.value == "https://gematik.de/fhir/epa-medication/StructureDefinition/epa-medication")
        #expect(dispense.descendant("medicationReference", "reference")?.value == "Medication/\(medication.value(of: "id") ?? "-")")
        #expect(dispense.descendant("medicationReference", "display")?.value == "Ibuprofen 400")
        let pharmacy = Self.part(payload, "organization").first?.child("resource")?.wrappedResource
        #expect(pharmacy?.descendant("identifier", "value")?.value == Fixtures.pharmacyID.rawValue)
    }

    /// A_25933: a repeated `$dispense` of the stored set (only its Medications' server ids differ)
    /// sends nothing; a changed set, or the first one, is sent.
    @Test func aDispenseThatStoresTheStoredSetAgainSendsNothing() throws {
        let task = Fixtures.task(.inProgress, dispensed: true)
        let stored = DispenseRulesTests.stored(try DispenseRulesTests.dispense(task, ids: FixedIDs(uuids: ["11111111-1111-4111-8111-111111111111"])))
        let again = try DispenseRulesTests.dispense(task, ids: FixedIDs(uuids: ["22222222-2222-4222-8222-222222222222"]))
        #expect(DispenseRulesTests.stored(again) != stored)
        #expect(try Self.transfer(again, before: task, stored: stored) == nil)
        let changed = try DispenseRulesTests.dispense(task, body: .success([FHIR.dispensation(), FHIR.dispensation(1)]))
        #expect(try Self.transfer(changed, before: task, stored: stored) != nil)
        let first = Fixtures.task(.inProgress)
        #expect(try Self.transfer(again, before: first, stored: []) != nil)
    }

    @Test func closeWithoutBodyProvidesTheStoredSetCompleted() throws {
        let task = Fixtures.task(.inProgress, dispensed: true)
        let change = try DispenseRules.close(task, secret: Fixtures.secret.rawValue, caller: Fixtures.pharmacy, body: .success(nil),
                                             now: Fixtures.now, ids: FixedIDs(), receipt: { _ in Element(name: "Bundle") })
        let stored = DispenseRulesTests.stored(try DispenseRulesTests.dispense(task))
        let transfer = try #require(try Self.transfer(change, before: task, stored: stored))
        #expect(transfer.status == .completed)
        #expect(Self.part(transfer.payload, "medicationDispense").count == stored.count)
        #expect(Self.part(transfer.payload, "status").first?.value(of: "valueCode") == "completed")
    }

    @Test func activateProvidesThePrescriptionAndAbortCancelsIt() throws {
        let draft = Fixtures.task(.draft)
        let ready = Fixtures.task(.ready)
        let activation = TaskChange(task: ready, audit: Fixtures.audit(.activate, ready.id, by: Fixtures.doctor))
        #expect(try Self.transfer(activation, before: draft)?.operation == .providePrescription)
        let abort = try TaskRules.abort(ready, secret: nil, accessCode: Fixtures.accessCode.rawValue, caller: Fixtures.doctor, now: Fixtures.now)
        let cancel = try #require(try Self.transfer(abort, before: ready))
        #expect(cancel.operation == .cancelPrescription)
        #expect(Self.parts(cancel.payload).compactMap { $0.value(of: "name") } == ["prescriptionId", "authoredOn"])
        #expect(cancel.payload.child("parameter")?.value(of: "name") == "rxPrescription")
    }

    @Test func rejectCancelsOnlyAStoredDispensationAndAbortOfACompletedTaskSendsNothing() throws {
        for dispensed in [false, true] {
            let task = Fixtures.task(.inProgress, dispensed: dispensed)
            let change = try TaskRules.reject(task, secret: Fixtures.secret.rawValue, caller: Fixtures.pharmacy, now: Fixtures.now)
            #expect(try Self.transfer(change, before: task)?.operation == (dispensed ? .cancelDispensation : nil))
        }
        let completed = Fixtures.task(.completed)
        let abort = try TaskRules.abort(completed, secret: nil, accessCode: nil, caller: Fixtures.insurant, now: Fixtures.now)
        #expect(try Self.transfer(abort, before: completed) == nil)
        let accept = try TaskRules.accept(Fixtures.task(.ready), accessCode: Fixtures.accessCode.rawValue, caller: Fixtures.pharmacy, now: Fixtures.now, ids: FixedIDs())
        #expect(try Self.transfer(accept, before: Fixtures.task(.ready)) == nil)
    }

    @Test func anObjectionRefusesDispenseAfterTheSecretAndBeforeTheBody() throws {
        let objected = { true }
        #expect(throws: DispensingError.insurantObjected) {
            try DispenseRules.dispense(Fixtures.task(.inProgress), secret: Fixtures.secret.rawValue, caller: Fixtures.pharmacy,
                                       body: .failure(DispensingError.noDispensationSent), now: Fixtures.now, ids: FixedIDs(), objected: objected)
        }
        #expect(throws: DispensingError.secretMismatch) {
            try DispenseRules.dispense(Fixtures.task(.inProgress), secret: Fixtures.wrongCredential, caller: Fixtures.pharmacy,
                                       body: .success([FHIR.dispensation()]), now: Fixtures.now, ids: FixedIDs(), objected: objected)
        }
        #expect(throws: DispensingError.wrongStatus(current: .ready, required: [.inProgress])) {
            var ready = Fixtures.task(.inProgress)
            ready.status = .ready
            return try DispenseRules.dispense(ready, secret: Fixtures.secret.rawValue, caller: Fixtures.pharmacy,
                                              body: .success([FHIR.dispensation()]), now: Fixtures.now, ids: FixedIDs(), objected: objected)
        }
    }
}
