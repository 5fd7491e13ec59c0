import Dispensing
import FHIRModel
import Foundation
import Synchronization
import Testing

/// `$close` (dispense-spec.md §3.2: A_19232, A_26481, A_24287-01).
struct CloseRulesTests {
    static let receipt = Element(name: "Bundle", children: [Element(name: "id", value: "receipt-1")])

    /// Records the tasks the receipt closure was called with.
    final class ReceiptSpy: Sendable {
        let calls = Mutex<[PrescriptionTask]>([])
        func make(_ task: PrescriptionTask) -> Element {
            calls.withLock { $0.append(task) }
            return CloseRulesTests.receipt
        }
        var tasks: [PrescriptionTask] { calls.withLock { $0 } }
    }

    static func close(
        _ task: PrescriptionTask = Fixtures.task(.inProgress), secret: String? = Fixtures.secret.rawValue, caller: Caller = Fixtures.pharmacy,
        body: Result<[Dispensation]?, any Error> = .success(nil), ids: FixedIDs = FixedIDs(), spy: ReceiptSpy = ReceiptSpy()
    ) throws -> TaskChange {
        try DispenseRules.close(task, secret: secret, caller: caller, body: body, now: Fixtures.now, ids: ids, receipt: spy.make)
    }

    @Test func withABodyReplacesTheSetAndCompletes() throws {
        let task = Fixtures.task(.inProgress, owner: Fixtures.otherPharmacyID, dispensed: true)
        let spy = ReceiptSpy()
        let body = [FHIR.dispensation(0), FHIR.dispensation(1, medication: FHIR.medication(id: "med-2"))]
        let change = try Self.close(task, body: .success(body), spy: spy)
        guard case .replace(let set) = change.dispensations else {
            Issue.record("expected .replace, got \(change.dispensations)")
            return
        }
        let id = Fixtures.gkvID.rawValue
        #expect(set.map(\.view.id) == [id, "\(id)-1"])
        #expect(set.map(\.view.medicationReference) == ["urn:uuid:\(Fixtures.uuids[0])", "urn:uuid:\(Fixtures.uuids[1])"])
        #expect(set.map { $0.medication?.value(of: "id") } == [Fixtures.uuids[0], Fixtures.uuids[1]])

        var expected = task
        expected.status = .completed
        expected.completedAt = Fixtures.now
        expected.lastModified = Fixtures.now
        expected.lastMedicationDispense = Fixtures.now
        expected.owner = Fixtures.pharmacyID
        expected.receipt = Self.receipt
        #expect(change.task == expected)
        #expect(change.audit == Fixtures.audit(.close, task.id))
    }

    @Test func receiptIsMadeFromTheCompletedTask() throws {
        let spy = ReceiptSpy()
        let change = try Self.close(Fixtures.task(.inProgress, dispensed: true), spy: spy)
        #expect(spy.tasks.count == 1)
        let seen = try #require(spy.tasks.first)
        #expect(seen.status == .completed)
        #expect(seen.completedAt == Fixtures.now)
        #expect(seen.lastModified == Fixtures.now)
        #expect(seen.acceptedAt == Fixtures.created)
        #expect(seen.owner == Fixtures.pharmacyID)
        var withReceipt = seen
        withReceipt.receipt = Self.receipt
        #expect(change.task == withReceipt)
    }

    @Test func withoutABodyKeepsTheStoredSet() throws {
        let task = Fixtures.task(.inProgress, owner: Fixtures.otherPharmacyID, dispensed: true)
        let change = try Self.close(task, body: .success(nil))
        #expect(change.dispensations == .keep)
        #expect(change.task.status == .completed)
        #expect(change.task.completedAt == Fixtures.now)
        #expect(change.task.receipt == Self.receipt)
        // Neither the dispense time nor the owner change without a dispensation (IBM).
        #expect(change.task.lastMedicationDispense == Fixtures.created)
        #expect(change.task.owner == Fixtures.otherPharmacyID)
    }

    @Test func anEmptyBodyCountsAsNoBody() throws {
        let ids = FixedIDs()
        let change = try Self.close(Fixtures.task(.inProgress, dispensed: true), body: .success([]), ids: ids)
        #expect(change.dispensations == .keep)
        #expect(change.task.lastMedicationDispense == Fixtures.created)
        #expect(ids.uuidsDrawn == 0)
        #expect(throws: DispensingError.noDispensationToClose) { try Self.close(Fixtures.task(.inProgress), body: .success([])) }
    }

    @Test func withoutABodyNeedsAnEarlierDispense() {
        let spy = ReceiptSpy()
        #expect(throws: DispensingError.noDispensationToClose) { try Self.close(Fixtures.task(.inProgress), body: .success(nil), spy: spy) }
        #expect(spy.tasks.isEmpty)
    }

    @Test func checkOrderIsCancelledThenStatusThenSecretThenTelematikIDThenBody() {
        let wrong = Fixtures.wrongCredential
        let broken: Result<[Dispensation]?, any Error> = .failure(BodyError())
        #expect(throws: DispensingError.taskCancelled) {
            try Self.close(Fixtures.task(.cancelled), secret: wrong, caller: Fixtures.pharmacyWithoutID, body: broken)
        }
        #expect(throws: DispensingError.wrongStatus(current: .completed, required: [.inProgress])) {
            try Self.close(Fixtures.task(.completed), secret: wrong, caller: Fixtures.pharmacyWithoutID, body: broken)
        }
        #expect(throws: DispensingError.wrongStatus(current: .ready, required: [.inProgress])) {
            try Self.close(Fixtures.task(.ready), secret: wrong, body: broken)
        }
        #expect(throws: DispensingError.secretMismatch) {
            try Self.close(Fixtures.task(.inProgress), secret: wrong, caller: Fixtures.pharmacyWithoutID, body: broken)
        }
        #expect(throws: DispensingError.secretMismatch) { try Self.close(Fixtures.task(.inProgress, dispensed: true), secret: nil) }
        #expect(throws: DispensingError.telematikIDMissing) {
            try Self.close(Fixtures.task(.inProgress), caller: Fixtures.pharmacyWithoutID, body: broken)
        }
        #expect(throws: BodyError()) { try Self.close(Fixtures.task(.inProgress, dispensed: true), body: broken) }
    }

    @Test func bodyIsCheckedLikeDispense() {
        let body = [FHIR.dispensation(1, dispense: FHIR.medicationDispense(telematikIDs: [Fixtures.otherPharmacyID.rawValue]))]
        let spy = ReceiptSpy()
        #expect(throws: DispensingError.telematikIDMismatch(expression: "Parameters.parameter[1].part[0].resource.performer[0].actor.identifier")) {
            try Self.close(Fixtures.task(.inProgress, dispensed: true), body: .success(body), spy: spy)
        }
        #expect(spy.tasks.isEmpty)
        let digaBody = [FHIR.dispensation(0, dispense: FHIR.medicationDispense(profiles: [Fixtures.digaProfile]), medication: nil)]
        #expect(throws: DispensingError.medicationDispenseProfileNotAllowed(expression: "Parameters.parameter[0].part[0].resource.meta.profile[0]")) {
            try Self.close(body: .success(digaBody))
        }
    }
}
