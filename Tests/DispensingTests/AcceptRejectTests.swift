import Dispensing
import FHIRModel
import Foundation
import Testing

/// `$accept` (A_19149-02, A_19167-04, A_19168-01, A_23539-01, A_19169-01) and `$reject`
/// (A_19172-01, A_24175, A_24286-02).
struct AcceptTests {
    static func accept(
        _ task: PrescriptionTask, accessCode: String? = Fixtures.accessCode.rawValue, caller: Caller = Fixtures.pharmacy,
        now: Date = Fixtures.now
    ) throws(DispensingError) -> TaskChange {
        try TaskRules.accept(task, accessCode: accessCode, caller: caller, now: now, ids: FixedIDs())
    }

    @Test func readyTaskGoesInProgressWithASecretAndTheCallerAsOwner() throws {
        let ready = Fixtures.task(.ready)
        let change = try Self.accept(ready)
        var expected = ready
        expected.status = .inProgress
        expected.secret = Fixtures.newCredential
        expected.owner = Fixtures.pharmacyID
        expected.acceptedAt = Fixtures.now
        expected.lastModified = Fixtures.now
        #expect(change.task == expected)
        #expect(change.dispensations == .keep)
        #expect(change.audit == Fixtures.audit(.accept, ready.id))
    }

    @Test func cancelledTaskIsGone() {
        #expect(throws: DispensingError.taskCancelled) { try Self.accept(Fixtures.task(.cancelled)) }
        // A task without an AccessCode counts as deleted too (A_19149-02).
        var withoutCode = Fixtures.task(.ready)
        withoutCode.accessCode = nil
        #expect(throws: DispensingError.taskCancelled) { try Self.accept(withoutCode) }
    }

    @Test func cancelledWinsOverAWrongAccessCode() {
        var cancelled = Fixtures.task(.cancelled)
        cancelled.accessCode = Fixtures.accessCode  // even if one were still stored
        #expect(throws: DispensingError.taskCancelled) { try Self.accept(cancelled, accessCode: Fixtures.wrongCredential) }
    }

    @Test func refusesAWrongOrMissingAccessCode() {
        #expect(throws: DispensingError.accessCodeMismatch) { try Self.accept(Fixtures.task(.ready), accessCode: Fixtures.wrongCredential) }
        #expect(throws: DispensingError.accessCodeMismatch) { try Self.accept(Fixtures.task(.ready), accessCode: nil) }
    }

    @Test func accessCodeWinsOverAlreadyProcessed() {
        #expect(throws: DispensingError.accessCodeMismatch) {
            try Self.accept(Fixtures.task(.inProgress), accessCode: Fixtures.wrongCredential)
        }
    }

    @Test func alreadyInProgressSaysWhetherTheCallerHoldsIt() {
        let task = Fixtures.task(.inProgress, owner: Fixtures.pharmacyID)
        #expect(throws: DispensingError.taskAlreadyProcessed(current: .inProgress, bySameOwner: true)) {
            try Self.accept(task, caller: Fixtures.pharmacy)
        }
        #expect(throws: DispensingError.taskAlreadyProcessed(current: .inProgress, bySameOwner: false)) {
            try Self.accept(task, caller: Fixtures.otherPharmacy)
        }
        // No Telematik-ID in the token is never "the same owner".
        #expect(throws: DispensingError.taskAlreadyProcessed(current: .inProgress, bySameOwner: false)) {
            try Self.accept(task, caller: Fixtures.pharmacyWithoutID)
        }
    }

    @Test func draftAndCompletedAreAlreadyProcessed() {
        #expect(throws: DispensingError.taskAlreadyProcessed(current: .draft, bySameOwner: false)) { try Self.accept(Fixtures.task(.draft)) }
        // No owner and no Telematik-ID in the token: nil is nobody's, not "the same".
        #expect(throws: DispensingError.taskAlreadyProcessed(current: .draft, bySameOwner: false)) {
            try Self.accept(Fixtures.task(.draft), caller: Fixtures.pharmacyWithoutID)
        }
        #expect(throws: DispensingError.taskAlreadyProcessed(current: .completed, bySameOwner: true)) {
            try Self.accept(Fixtures.task(.completed))
        }
        #expect(throws: DispensingError.taskAlreadyProcessed(current: .completed, bySameOwner: false)) {
            try Self.accept(Fixtures.task(.completed), caller: Fixtures.otherPharmacy)
        }
    }

    @Test func expiryIsTheLastBerlinDayToRedeem() throws {
        var task = Fixtures.task(.ready)
        task.expiryDate = "2025-06-01"
        // 2025-06-01T23:30 in Berlin (CEST): still the expiry day.
        let lastMinute = Date(timeIntervalSince1970: 1_748_813_400)
        #expect(try Self.accept(task, now: lastMinute).task.status == .inProgress)
        // 2025-06-02T00:30 in Berlin, although still June 1st in UTC.
        let nextDay = Date(timeIntervalSince1970: 1_748_817_000)
        #expect(throws: DispensingError.prescriptionExpired(expiryDate: "2025-06-01")) { try Self.accept(task, now: nextDay) }
    }

    @Test func expiryIsCheckedAfterStatusAndBeforeTheTelematikID() {
        var expired = Fixtures.task(.ready)
        expired.expiryDate = "2025-03-09"
        #expect(throws: DispensingError.prescriptionExpired(expiryDate: "2025-03-09")) {
            try Self.accept(expired, caller: Fixtures.pharmacyWithoutID)
        }
        var expiredInProgress = Fixtures.task(.inProgress)
        expiredInProgress.expiryDate = "2025-03-09"
        #expect(throws: DispensingError.taskAlreadyProcessed(current: .inProgress, bySameOwner: true)) { try Self.accept(expiredInProgress) }
    }

    @Test func needsATelematikID() {
        #expect(throws: DispensingError.telematikIDMissing) { try Self.accept(Fixtures.task(.ready), caller: Fixtures.pharmacyWithoutID) }
    }
}

struct RejectTests {
    static func reject(_ task: PrescriptionTask, secret: String? = Fixtures.secret.rawValue) throws(DispensingError) -> TaskChange {
        try TaskRules.reject(task, secret: secret, caller: Fixtures.pharmacy, now: Fixtures.now)
    }

    @Test func givesTheTaskBackAndDeletesTheDispensations() throws {
        let task = Fixtures.task(.inProgress, dispensed: true)
        let change = try Self.reject(task)
        #expect(change.task.status == .ready)
        #expect(change.task.secret == nil)
        #expect(change.task.owner == nil)
        #expect(change.task.acceptedAt == nil)
        #expect(change.task.lastMedicationDispense == nil)
        #expect(change.task.lastModified == Fixtures.now)
        #expect(change.dispensations == .delete)
        // What the insurant still needs stays.
        #expect(change.task.accessCode == Fixtures.accessCode)
        #expect(change.task.kvnr == Fixtures.kvnr)
        #expect(change.task.prescription == task.prescription)
        #expect(change.task.expiryDate == task.expiryDate)
        #expect(change.audit.action == .reject)
        #expect(change.audit.kvnr == Fixtures.kvnr)
    }

    @Test func checkOrderIsCancelledThenStatusThenSecret() {
        #expect(throws: DispensingError.taskCancelled) { try Self.reject(Fixtures.task(.cancelled), secret: Fixtures.wrongCredential) }
        #expect(throws: DispensingError.wrongStatus(current: .ready, required: [.inProgress])) {
            try Self.reject(Fixtures.task(.ready), secret: Fixtures.wrongCredential)
        }
        #expect(throws: DispensingError.wrongStatus(current: .completed, required: [.inProgress])) {
            try Self.reject(Fixtures.task(.completed), secret: Fixtures.wrongCredential)
        }
        #expect(throws: DispensingError.wrongStatus(current: .draft, required: [.inProgress])) { try Self.reject(Fixtures.task(.draft)) }
        #expect(throws: DispensingError.secretMismatch) { try Self.reject(Fixtures.task(.inProgress), secret: Fixtures.wrongCredential) }
        #expect(throws: DispensingError.secretMismatch) { try Self.reject(Fixtures.task(.inProgress), secret: nil) }
    }

    @Test func theAccessCodeIsNoSecret() {
        #expect(throws: DispensingError.secretMismatch) { try Self.reject(Fixtures.task(.inProgress), secret: Fixtures.accessCode.rawValue) }
    }
}
