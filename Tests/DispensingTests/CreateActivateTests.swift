import Dispensing
import FHIRModel
import Foundation
import Testing

/// `$create` and `$activate` (dispense-spec.md §4.2).
struct CreateTests {
    @Test(arguments: [
        (FlowType.gkvPharmacy, "160.000.033.491.280.78"),
        (.pkvPharmacy, "200.000.033.491.280.92"),
        (.gkvDirectAssignment, "169.000.033.491.280.86"),
        (.pkvDirectAssignment, "209.000.033.491.280.03"),
        (.tPrescription, PrescriptionID(flowType: .tPrescription, serial: 33_491_280).rawValue),
    ])
    func makesADraftWithAnAccessCode(_ flowType: FlowType, _ id: String) throws {
        let change = try TaskRules.create(flowType: flowType, caller: Fixtures.doctor, now: Fixtures.now, ids: FixedIDs())
        let task = change.task
        #expect(task.id.rawValue == id)
        #expect(PrescriptionID(id) == task.id)
        #expect(task.flowType == flowType)
        #expect(task.status == .draft)
        #expect(task.accessCode == Fixtures.newCredential)
        #expect(task.secret == nil)
        #expect(task.kvnr == nil)
        #expect(task.owner == nil)
        #expect(task.createdAt == Fixtures.now)
        #expect(task.lastModified == Fixtures.now)
        #expect(change.dispensations == .keep)
        #expect(change.audit == AuditEntry(action: .create, prescriptionID: task.id, caller: Fixtures.doctor, kvnr: nil, recorded: Fixtures.now))
        #expect(change.audit.agentID == Fixtures.doctorID.rawValue)
    }

    /// Issue 24: every flow type runs, 162 (DiGA) and 166 (T-Rezept) included.
    @Test(arguments: FlowType.allCases)
    func createsEveryFlowType(_ flowType: FlowType) throws {
        let change = try TaskRules.create(flowType: flowType, caller: Fixtures.doctor, now: Fixtures.now, ids: FixedIDs())
        #expect(change.task.id.flowType == flowType)
    }
}

struct ActivateTests {
    static func bundle(for id: PrescriptionID = Fixtures.gkvID, authoredOn: String = "2025-03-01") -> PrescriptionBundle {
        try! PrescriptionBundle(FHIR.prescriptionBundle(prescriptionID: id.rawValue, authoredOn: authoredOn))
    }

    static func activate(
        _ task: PrescriptionTask, accessCode: String? = Fixtures.accessCode.rawValue, bundle: PrescriptionBundle? = nil
    ) throws(DispensingError) -> TaskChange {
        try TaskRules.activate(
            task, accessCode: accessCode, prescription: bundle ?? Self.bundle(for: task.id), caller: Fixtures.doctor, now: Fixtures.now
        )
    }

    @Test func gkvTaskBecomesReadyWithTwentyEightDaysToAcceptAndThreeMonthsToRedeem() throws {
        let draft = Fixtures.task(.draft)
        let prescription = Self.bundle(authoredOn: "2025-03-01T10:15:00+01:00")
        let change = try Self.activate(draft, bundle: prescription)
        let task = change.task
        #expect(task.status == .ready)
        #expect(task.kvnr == Fixtures.kvnr)
        #expect(task.authoredOn == "2025-03-01")
        #expect(task.acceptDate == "2025-03-29")
        #expect(task.expiryDate == "2025-06-01")
        #expect(task.prescription == prescription.bundle)
        #expect(task.accessCode == Fixtures.accessCode)
        #expect(task.createdAt == Fixtures.created)
        #expect(task.lastModified == Fixtures.now)
        #expect(change.dispensations == .keep)
        #expect(change.audit.action == .activate)
        #expect(change.audit.kvnr == Fixtures.kvnr)
        #expect(change.audit.recorded == Fixtures.now)
    }

    @Test(arguments: [
        (Fixtures.gkvID, "2025-01-31", "2025-02-28", "2025-04-30"),
        (Fixtures.directID, "2025-01-31", "2025-02-28", "2025-04-30"),
        (Fixtures.pkvID, "2025-01-31", "2025-04-30", "2025-04-30"),
        (Fixtures.pkvDirectID, "2025-11-30", "2026-02-28", "2026-02-28"),
        (Fixtures.pkvID, "2025-03-01", "2025-06-01", "2025-06-01"),
    ])
    func datesDependOnTheFlowType(_ id: PrescriptionID, _ authoredOn: String, _ acceptDate: String, _ expiryDate: String) throws {
        let task = try Self.activate(Fixtures.task(.draft, id: id), bundle: Self.bundle(for: id, authoredOn: authoredOn)).task
        #expect(task.acceptDate == acceptDate)
        #expect(task.expiryDate == expiryDate)
    }

    @Test func refusesAWrongOrMissingAccessCode() {
        #expect(throws: DispensingError.accessCodeMismatch) { try Self.activate(Fixtures.task(.draft), accessCode: Fixtures.wrongCredential) }
        #expect(throws: DispensingError.accessCodeMismatch) { try Self.activate(Fixtures.task(.draft), accessCode: nil) }
        #expect(throws: DispensingError.accessCodeMismatch) {
            try Self.activate(Fixtures.task(.draft), accessCode: Fixtures.accessCode.rawValue.uppercased())
        }
    }

    @Test(arguments: [TaskStatus.ready, .inProgress, .completed])
    func refusesATaskThatIsNoDraft(_ status: TaskStatus) {
        #expect(throws: DispensingError.wrongStatus(current: status, required: [.draft])) { try Self.activate(Fixtures.task(status)) }
    }

    @Test func cancelledWinsOverTheAccessCode() {
        #expect(throws: DispensingError.taskCancelled) { try Self.activate(Fixtures.task(.cancelled)) }
        #expect(throws: DispensingError.taskCancelled) { try Self.activate(Fixtures.task(.cancelled), accessCode: Fixtures.wrongCredential) }
    }

    @Test func accessCodeWinsOverStatus() {
        #expect(throws: DispensingError.accessCodeMismatch) { try Self.activate(Fixtures.task(.ready), accessCode: Fixtures.wrongCredential) }
    }

    @Test func refusesABundleForAnotherPrescription() {
        let other = PrescriptionID("160.123.456.789.123.58")!
        #expect(throws: DispensingError.prescriptionIDMismatchInPrescription(expression: "Bundle.identifier")) {
            try Self.activate(Fixtures.task(.draft), bundle: Self.bundle(for: other))
        }
        // Status is checked first.
        #expect(throws: DispensingError.wrongStatus(current: .ready, required: [.draft])) {
            try Self.activate(Fixtures.task(.ready), bundle: Self.bundle(for: other))
        }
    }
}
