public import Foundation

/// The checks of `POST /Communication` after the profile (fd-messaging-transport §1.5 steps 2–13), in
/// the FD's order (IBM `CommunicationPostHandler.cxx`), as pure functions.
public enum CommunicationRules {
    /// Steps 2–3: who may send this type; returns the sender id (KVNR or Telematik-ID).
    public static func sender(of kind: Communication.Kind, caller: Caller) throws(CommunicationError) -> String {
        // Step 2. The second claim of the step (the profession OID) cannot be missing here: the
        // token verifier refuses a token without one before any route runs.
        guard caller.kvnr != nil || caller.telematikID != nil else { throw .senderClaimMissing }
        if kind.isReply {
            guard caller.profession.isPharmacy || caller.profession == .insurer else { throw .replySenderProfessionInvalid }
            guard let telematikID = caller.telematikID, telematikID.rawValue.contains("-") else { throw .invalidSenderTelematikID }
            return telematikID.rawValue
        }
        guard caller.profession == .insurant else { throw .senderProfessionInvalid }
        guard let kvnr = caller.kvnr else { throw .invalidKVNR }
        return kvnr.rawValue
    }

    /// Steps 4–7: the referenced ChargeItem or Task. erx has no ChargeItem resource yet, so every
    /// ChargChange message is refused here (A_22734) until it has.
    public static func checkTask(of kind: Communication.Kind, _ task: PrescriptionTask?, id: PrescriptionID, today: String) throws(CommunicationError) -> PrescriptionTask {
        if kind.isChargeItemMessage { throw .chargeItemMissing }
        // A_21371-03: a cancelled task keeps its row (and KVNR); step 7 words what IBM finds then.
        guard let task else { throw .taskMissing(prescriptionID: id.rawValue) }
        if kind == .dispReq {
            guard task.status == .ready else { throw .dispReqTaskNotReady }  // A_26320
            if let expiry = task.expiryDate.flatMap(CalendarDate.datePart(of:)), expiry < today { throw .dispReqTaskExpired }  // A_26321
            if let bundle = task.prescription, MultiplePrescriptionRules.notYetRedeemable(bundle, on: today) != nil {
                throw .dispReqNotFillableYet  // A_26327
            }
        }
        guard task.kvnr != nil else { throw .taskWithoutKVNR }
        return task
    }

    /// Step 8: the recipient's kind, and for a DispReq the sector its flow type may go to
    /// (A_27767-01: 160/166/200 to public `3-`/`9-` or hospital `5-` pharmacies, 162 to insurers
    /// `8-`; 169/209 unchecked).
    public static func checkRecipient(_ recipient: String, of kind: Communication.Kind, flowType: FlowType) throws(CommunicationError) {
        let isKVNR = KVNR(recipient) != nil
        if kind.recipientIsInstitution {
            if isKVNR { throw .expectedTelematikID }
            guard kind == .dispReq else { return }
            let prefixes: [String]
            switch flowType {
            case .gkvPharmacy, .tPrescription, .pkvPharmacy: prefixes = ["3-", "9-", "5-"]
            case .diga: prefixes = ["8-"]
            case .gkvDirectAssignment, .pkvDirectAssignment: return
            }
            guard prefixes.contains(where: recipient.hasPrefix) else { throw .recipientNotAllowed(flowType: flowType) }
        } else {
            if TelematikID(recipient) != nil, !isKVNR { throw .expectedKVNR }
            guard isKVNR else { throw .invalidKVNR }
        }
    }

    /// Steps 10–13 (step 9, the Representative limit, needs the store and runs between).
    public static func checkRightToSend(
        _ kind: Communication.Kind, sender: String, recipient: String, task: PrescriptionTask, basedOnAccessCode: String?, headerAccessCode: String?
    ) throws(CommunicationError) {
        // Step 10 (A_20885-04): only insurants' requests; IBM only checks that `ac` is present in basedOn.
        if kind == .dispReq || kind == .representative {
            let ownTask = task.kvnr?.rawValue == sender
            let hasAccessCode = !(basedOnAccessCode ?? "").isEmpty
            if kind == .dispReq, !hasAccessCode { throw .dispReqAccessCodeMissing }
            if kind == .representative, ownTask, !hasAccessCode { throw .representativeAccessCodeMissing }
            if !ownTask {
                guard let headerAccessCode else { throw .headerAccessCodeMissing }
                guard task.accessCode?.matches(headerAccessCode) == true else { throw .headerAccessCodeMismatch }
            }
        }
        // Step 11 (A_20230-01).
        if kind == .representative, task.status != .ready, task.status != .inProgress { throw .representativeTaskStatus }
        // Step 12 (A_20231).
        if sender == recipient { throw .messageToSelf }
        // Step 13 (A_20752, A_20753): test identities stay among themselves.
        let insurants = [sender, recipient, task.kvnr?.rawValue].compactMap { $0.flatMap(KVNR.init) }
        if Set(insurants.map(\.isVerificationIdentity)).count > 1 { throw .verificationIdentityMismatch }
    }
}
