import Dispensing
import FHIRModel
import Testing

/// `GET /Task/{id}`: who may read a task, as whom, and which error wins (fd-parity.md §2.4, §3.3,
/// §4.2, in the production service's order).
struct ReadRulesTests {
    static func read(
        _ task: PrescriptionTask, caller: Caller = Fixtures.pharmacy, secret: String? = nil, accessCode: String? = nil
    ) throws(DispensingError) -> ReadRules.Access {
        try ReadRules.admit(secret: secret, accessCode: accessCode, caller: caller)
        return try ReadRules.read(task, secret: secret, accessCode: accessCode, caller: caller)
    }

    /// A_19116-01: the insurant reads their own task in every state but draft (403) and cancelled (410).
    @Test(arguments: [TaskStatus.ready, .inProgress, .completed])
    func insurantReadsTheirOwnTask(_ status: TaskStatus) throws {
        #expect(try Self.read(Fixtures.task(status), caller: Fixtures.insurant) == .insurant(representative: false))
    }

    @Test func insurantsDraftAndCancelledTasksAreRefusedInThatOrder() {
        #expect(throws: DispensingError.draftNotReadable) { try Self.read(Fixtures.task(.draft), caller: Fixtures.insurant) }
        // A draft has no KVNR yet: even a token without one gets the draft answer, not a match.
        #expect(throws: DispensingError.draftNotReadable) { try Self.read(Fixtures.task(.draft), caller: Caller(profession: .insurant)) }
        // A_18952: 410 before the KVNR is compared.
        #expect(throws: DispensingError.taskCancelled) { try Self.read(Fixtures.task(.cancelled), caller: Fixtures.otherInsurant) }
    }

    /// A_19116-01: another insurant reads with the AccessCode as a representative; without it, 403.
    @Test func representativeReadsWithTheAccessCode() throws {
        let ac = Fixtures.accessCode.rawValue
        #expect(try Self.read(Fixtures.task(.ready), caller: Fixtures.otherInsurant, accessCode: ac) == .insurant(representative: true))
        #expect(throws: DispensingError.accessCodeMismatch) { try Self.read(Fixtures.task(.ready), caller: Fixtures.otherInsurant) }
        #expect(throws: DispensingError.accessCodeMismatch) {
            try Self.read(Fixtures.task(.ready), caller: Fixtures.otherInsurant, accessCode: Fixtures.wrongCredential)
        }
    }

    /// A_26148: no representative for a directly assigned task (169, 209); A_20753: verification
    /// identities and real insurants never mix.
    @Test func representativeLimits() {
        let ac = Fixtures.accessCode.rawValue
        #expect(throws: DispensingError.representativeOfDirectAssignment) {
            try Self.read(Fixtures.task(.ready, id: Fixtures.directID), caller: Fixtures.otherInsurant, accessCode: ac)
        }
        let testIdentity = Caller(profession: .insurant, kvnr: KVNR("X000001234")!)
        #expect(testIdentity.kvnr?.isVerificationIdentity == true)
        #expect(Fixtures.kvnr.isVerificationIdentity == false)
        #expect(throws: DispensingError.verificationIdentityMismatch) { try Self.read(Fixtures.task(.ready), caller: testIdentity, accessCode: ac) }
        // The mix is checked before the flow type.
        #expect(throws: DispensingError.verificationIdentityMismatch) {
            try Self.read(Fixtures.task(.ready, id: Fixtures.directID), caller: testIdentity, accessCode: ac)
        }
    }

    /// A_19226-02: the Secret alone suffices, whatever the status and owner.
    @Test func pharmacyReadsWithTheSecret() throws {
        #expect(try Self.read(Fixtures.task(.inProgress), secret: Fixtures.secret.rawValue) == .pharmacyWithSecret)
        #expect(try Self.read(Fixtures.task(.completed), caller: Fixtures.otherPharmacy, secret: Fixtures.secret.rawValue) == .pharmacyWithSecret)
        #expect(throws: DispensingError.secretMismatch) { try Self.read(Fixtures.task(.inProgress), secret: Fixtures.wrongCredential) }
        // A secret given wins over a right AccessCode.
        #expect(throws: DispensingError.secretMismatch) {
            try Self.read(Fixtures.task(.inProgress), secret: Fixtures.wrongCredential, accessCode: Fixtures.accessCode.rawValue)
        }
        #expect(throws: DispensingError.secretMismatch) { try Self.read(Fixtures.task(.ready), secret: Fixtures.secret.rawValue) }
        #expect(throws: DispensingError.taskCancelled) { try Self.read(Fixtures.task(.cancelled), secret: Fixtures.secret.rawValue) }
    }

    /// A_24176-01…A_24178-02: the owner recovers the Secret with the AccessCode; 412 for a task not
    /// in progress or completed and for another pharmacy.
    @Test func pharmacyRecoversTheSecretWithTheAccessCodeOnlyAsOwner() throws {
        let ac = Fixtures.accessCode.rawValue
        #expect(try Self.read(Fixtures.task(.inProgress), accessCode: ac) == .pharmacyWithAccessCode)
        #expect(try Self.read(Fixtures.task(.completed), accessCode: ac) == .pharmacyWithAccessCode)
        #expect(throws: DispensingError.taskNotAccepted) { try Self.read(Fixtures.task(.ready), accessCode: ac) }
        #expect(throws: DispensingError.notTheOwner) { try Self.read(Fixtures.task(.inProgress), caller: Fixtures.otherPharmacy, accessCode: ac) }
        #expect(throws: DispensingError.telematikIDMissing) {
            try Self.read(Fixtures.task(.inProgress), caller: Fixtures.pharmacyWithoutID, accessCode: ac)
        }
        // A task without an owner (after `$reject`) is nobody's.
        #expect(throws: DispensingError.notTheOwner) { try Self.read(Fixtures.task(.completed, owner: nil), accessCode: ac) }
        #expect(throws: DispensingError.accessCodeMismatch) { try Self.read(Fixtures.task(.inProgress), accessCode: Fixtures.wrongCredential) }
        // Neither credential: refused before the task is looked at.
        #expect(throws: DispensingError.readCredentialMissing) { try Self.read(Fixtures.task(.inProgress)) }
        // AccessCode before status, status before owner.
        #expect(throws: DispensingError.accessCodeMismatch) {
            try Self.read(Fixtures.task(.ready), caller: Fixtures.otherPharmacy, accessCode: Fixtures.wrongCredential)
        }
        #expect(throws: DispensingError.taskNotAccepted) { try Self.read(Fixtures.task(.ready), caller: Fixtures.otherPharmacy, accessCode: ac) }
        #expect(throws: DispensingError.taskNotAccepted) { try Self.read(Fixtures.task(.draft), accessCode: ac) }
        #expect(throws: DispensingError.taskCancelled) { try Self.read(Fixtures.task(.cancelled), accessCode: ac) }
    }

    /// Events 1, 2 and 3: the read is audited with who read and as whom.
    @Test func readsAreAudited() throws {
        let task = Fixtures.task(.ready)
        let own = ReadRules.audit(.insurant(representative: false), task, caller: Fixtures.insurant, now: Fixtures.now)
        #expect(own.action == .read && own.kvnr == Fixtures.kvnr && !own.representative && own.agentID == Fixtures.kvnr.rawValue)
        let representative = ReadRules.audit(.insurant(representative: true), task, caller: Fixtures.otherInsurant, now: Fixtures.now)
        #expect(representative.representative && representative.kvnr == Fixtures.kvnr && representative.agentID == Fixtures.otherKVNR.rawValue)
        let pharmacy = ReadRules.audit(.pharmacyWithSecret, task, caller: Fixtures.pharmacy, now: Fixtures.now)
        #expect(pharmacy.agentID == Fixtures.pharmacyID.rawValue && pharmacy.prescriptionID == task.id)
    }
}
