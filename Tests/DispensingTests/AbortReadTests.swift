import Dispensing
import FHIRModel
import Foundation
import Testing

/// `$abort` (A_19145-01, A_19146, A_19120-03, A_20546-03, A_20547, A_22102-01, A_19027-06).
struct AbortTests {
    static func abort(
        _ task: PrescriptionTask, caller: Caller, secret: String? = nil, accessCode: String? = nil
    ) throws(DispensingError) -> TaskChange {
        try TaskRules.abort(task, secret: secret, accessCode: accessCode, caller: caller, now: Fixtures.now)
    }

    @Test func wipesEverythingPersonalButTheKVNR() throws {
        let task = Fixtures.task(.inProgress, dispensed: true)
        let change = try Self.abort(task, caller: Fixtures.pharmacy, secret: Fixtures.secret.rawValue)
        #expect(change.task.status == .cancelled)
        #expect(change.task.accessCode == nil)
        #expect(change.task.secret == nil)
        #expect(change.task.owner == nil)
        #expect(change.task.lastMedicationDispense == nil)
        #expect(change.task.prescription == nil)
        #expect(change.task.receipt == nil)
        #expect(change.task.kvnr == Fixtures.kvnr)
        #expect(change.task.lastModified == Fixtures.now)
        #expect(change.dispensations == .delete)
        #expect(change.audit == Fixtures.audit(.abort, task.id))
    }

    @Test func insurantDeletingACompletedTaskAlsoLosesTheReceipt() throws {
        let change = try Self.abort(Fixtures.task(.completed, dispensed: true), caller: Fixtures.insurant)
        #expect(change.task.status == .cancelled)
        #expect(change.task.receipt == nil)
        #expect(change.task.prescription == nil)
        #expect(change.task.kvnr == Fixtures.kvnr)
        #expect(change.dispensations == .delete)
        // An insurant is named by their KVNR in the audit trail.
        #expect(change.audit.agentProfession == .insurant)
        #expect(change.audit.agentID == Fixtures.kvnr.rawValue)
    }

    @Test(arguments: [Fixtures.pharmacy, Fixtures.doctor, Fixtures.insurant])
    func draftCannotBeAborted(_ caller: Caller) {
        #expect(throws: DispensingError.abortOfDraft) {
            try Self.abort(Fixtures.task(.draft), caller: caller, secret: Fixtures.secret.rawValue, accessCode: Fixtures.accessCode.rawValue)
        }
    }

    @Test(arguments: [Fixtures.pharmacy, Fixtures.doctor, Fixtures.insurant])
    func cancelledIsGone(_ caller: Caller) {
        #expect(throws: DispensingError.taskCancelled) {
            try Self.abort(Fixtures.task(.cancelled), caller: caller, secret: Fixtures.secret.rawValue, accessCode: Fixtures.accessCode.rawValue)
        }
    }

    @Test func pharmacyNeedsInProgressThenTheSecret() throws {
        #expect(throws: DispensingError.wrongStatus(current: .ready, required: [.inProgress])) {
            try Self.abort(Fixtures.task(.ready), caller: Fixtures.pharmacy, secret: Fixtures.wrongCredential)
        }
        #expect(throws: DispensingError.wrongStatus(current: .completed, required: [.inProgress])) {
            try Self.abort(Fixtures.task(.completed), caller: Fixtures.pharmacy, secret: Fixtures.secret.rawValue)
        }
        #expect(throws: DispensingError.secretMismatch) {
            try Self.abort(Fixtures.task(.inProgress), caller: Fixtures.pharmacy, secret: Fixtures.wrongCredential)
        }
        // The AccessCode does not replace the secret for a pharmacy.
        #expect(throws: DispensingError.secretMismatch) {
            try Self.abort(Fixtures.task(.inProgress), caller: Fixtures.pharmacy, accessCode: Fixtures.accessCode.rawValue)
        }
        let hospitalPharmacy = Caller(profession: .hospitalPharmacy, telematikID: Fixtures.otherPharmacyID)
        #expect(try Self.abort(Fixtures.task(.inProgress), caller: hospitalPharmacy, secret: Fixtures.secret.rawValue).task.status == .cancelled)
    }

    @Test func doctorNeedsReadyAndTheAccessCode() throws {
        #expect(try Self.abort(Fixtures.task(.ready), caller: Fixtures.doctor, accessCode: Fixtures.accessCode.rawValue).task.status == .cancelled)
        #expect(throws: DispensingError.accessCodeMismatch) {
            try Self.abort(Fixtures.task(.ready), caller: Fixtures.doctor, accessCode: Fixtures.wrongCredential)
        }
        #expect(throws: DispensingError.accessCodeMismatch) { try Self.abort(Fixtures.task(.ready), caller: Fixtures.doctor) }
        #expect(throws: DispensingError.wrongStatus(current: .inProgress, required: [.ready, .completed])) {
            try Self.abort(Fixtures.task(.inProgress), caller: Fixtures.doctor, accessCode: Fixtures.accessCode.rawValue)
        }
        #expect(throws: DispensingError.wrongStatus(current: .completed, required: [.ready])) {
            try Self.abort(Fixtures.task(.completed), caller: Fixtures.doctor, accessCode: Fixtures.wrongCredential)
        }
    }

    @Test func insurantNeedsTheirOwnKVNROrTheAccessCode() throws {
        #expect(try Self.abort(Fixtures.task(.ready), caller: Fixtures.insurant).task.status == .cancelled)
        #expect(throws: DispensingError.notTheInsurantsTask) { try Self.abort(Fixtures.task(.ready), caller: Fixtures.otherInsurant) }
        #expect(throws: DispensingError.notTheInsurantsTask) {
            try Self.abort(Fixtures.task(.ready), caller: Fixtures.otherInsurant, accessCode: Fixtures.wrongCredential)
        }
        // A representative holds the AccessCode (A_20547).
        let represented = try Self.abort(Fixtures.task(.ready), caller: Fixtures.otherInsurant, accessCode: Fixtures.accessCode.rawValue)
        #expect(represented.task.status == .cancelled)
        // An insurant token without a KVNR is nobody's.
        #expect(throws: DispensingError.notTheInsurantsTask) {
            try Self.abort(Fixtures.task(.ready), caller: Caller(profession: .insurant))
        }
        var withoutKVNR = Fixtures.task(.ready)
        withoutKVNR.kvnr = nil
        #expect(throws: DispensingError.notTheInsurantsTask) { try Self.abort(withoutKVNR, caller: Caller(profession: .insurant)) }
        #expect(throws: DispensingError.wrongStatus(current: .inProgress, required: [.ready, .completed])) {
            try Self.abort(Fixtures.task(.inProgress), caller: Fixtures.insurant)
        }
    }

    @Test(arguments: [Fixtures.directID, Fixtures.pkvDirectID])
    func insurantMayDeleteADirectAssignmentOnlyWhenCompleted(_ id: PrescriptionID) throws {
        #expect(throws: DispensingError.wrongStatus(current: .ready, required: [.completed])) {
            try Self.abort(Fixtures.task(.ready, id: id), caller: Fixtures.insurant)
        }
        #expect(try Self.abort(Fixtures.task(.completed, id: id), caller: Fixtures.insurant).task.status == .cancelled)
        // The prescriber still may, while it is ready.
        let byDoctor = try Self.abort(Fixtures.task(.ready, id: id), caller: Fixtures.doctor, accessCode: Fixtures.accessCode.rawValue)
        #expect(byDoctor.task.status == .cancelled)
    }
}
