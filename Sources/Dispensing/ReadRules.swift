public import Foundation

/// Who may read a task with `GET /Task/{id}`, and as whom: the checks in the production service's
/// order (fd-parity.md §2.4, §3.3, §4.2), because a conformance suite asserts which error wins.
public enum ReadRules {
    /// How the caller was let in; it decides what the answer shows and which audit event is written.
    public enum Access: Sendable, Hashable {
        /// The insurant of the task, or a representative holding its AccessCode (A_19116-01).
        case insurant(representative: Bool)
        /// A pharmacy with the task's Secret: the receipt re-fetch (A_19226-02).
        case pharmacyWithSecret
        /// The owning pharmacy with the AccessCode: the Secret recovery (A_24176-01…A_24179-01).
        case pharmacyWithAccessCode
    }

    /// The checks before the task is read: a pharmacy (or an insurer, for DiGA) must bring a credential.
    public static func admit(secret: String?, accessCode: String?, caller: Caller) throws(DispensingError) {
        if caller.profession.isRedeemer, secret == nil, accessCode == nil { throw .readCredentialMissing }
    }

    public static func read(_ task: PrescriptionTask, secret: String?, accessCode: String?, caller: Caller) throws(DispensingError) -> Access {
        if caller.profession == .insurant { return try insurant(task, accessCode: accessCode, caller: caller) }
        if task.status == .cancelled { throw .taskCancelled }
        if secret != nil {
            // Possession of the Secret suffices: no status or owner check (A_19226-02).
            guard let stored = task.secret, stored.matches(secret) else { throw .secretMismatch }
            return .pharmacyWithSecret
        }
        guard let stored = task.accessCode, stored.matches(accessCode) else { throw .accessCodeMismatch }
        guard task.status == .inProgress || task.status == .completed else { throw .taskNotAccepted }
        guard let telematikID = caller.telematikID else { throw .telematikIDMissing }
        guard task.owner == telematikID else { throw .notTheOwner }
        return .pharmacyWithAccessCode
    }

    /// A_19116-01, A_18952, A_20753, A_26148.
    static func insurant(_ task: PrescriptionTask, accessCode: String?, caller: Caller) throws(DispensingError) -> Access {
        if task.status == .draft { throw .draftNotReadable }
        if task.status == .cancelled { throw .taskCancelled }
        if let kvnr = caller.kvnr, kvnr == task.kvnr { return .insurant(representative: false) }
        guard let stored = task.accessCode, stored.matches(accessCode) else { throw .accessCodeMismatch }
        if let own = caller.kvnr, let theirs = task.kvnr, own.isVerificationIdentity != theirs.isVerificationIdentity {
            throw .verificationIdentityMismatch
        }
        if task.flowType.isDirectAssignment { throw .representativeOfDirectAssignment }
        return .insurant(representative: true)
    }

    /// The audit entry of a read (events 1, 2 and 3).
    public static func audit(_ access: Access, _ task: PrescriptionTask, caller: Caller, now: Date) -> AuditEntry {
        let representative = if case .insurant(true) = access { true } else { false }
        return AuditEntry(action: .read, prescriptionID: task.id, caller: caller, kvnr: task.kvnr, recorded: now, representative: representative)
    }
}

extension KVNR {
    /// A KVNR of the verification identities insurers use to test (`X00000` and 0001…5000): they
    /// and real insurants never see each other's data (A_20753).
    public var isVerificationIdentity: Bool {
        let text = Array(rawValue.utf8)
        guard text.count == 10, rawValue.hasPrefix("X00000"), let number = Int(String(decoding: text[6...], as: UTF8.self)) else { return false }
        return (1...5000).contains(number)
    }
}
