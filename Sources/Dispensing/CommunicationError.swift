/// Every way `POST/GET/DELETE /Communication` is refused (fd-messaging-transport §1.5, §1.7, §1.8),
/// named by what went wrong; the server's error seam words each as the FD does. Cases carry no
/// personal data: the prescription id and profile canonicals are not personal.
public enum CommunicationError: Error, Sendable, Hashable {
    /// Step 1: `meta.profile` names none of the accepted profiles.
    case profileMissing
    /// Step 1: another profile (InfoReq, an unknown version); `accepted` for the text.
    case profileNotAccepted(claimed: String, accepted: [String])
    /// Step 1: the body is not a usable Communication (validation or model), with the detail.
    case invalidBody(diagnostics: String)
    /// Step 1: `basedOn` names no Task/ChargeItem with a PrescriptionID.
    case unparsableBasedOn
    /// Step 2: no `idNummer` in the token.
    case senderClaimMissing
    /// Step 3: a Reply type from neither a pharmacy nor an insurer.
    case replySenderProfessionInvalid
    /// Step 3: the sender's `idNummer` is no Telematik-ID.
    case invalidSenderTelematikID
    /// Step 3: a request type from someone other than an insurant.
    case senderProfessionInvalid
    /// Steps 3 and 8: not a KVNR.
    case invalidKVNR
    /// Step 4 (A_22734): erx has no ChargeItem yet, so every ChargChange message ends here.
    case chargeItemMissing
    /// Step 5 (A_21371-03).
    case taskMissing(prescriptionID: String)
    /// Step 6 (A_26320).
    case dispReqTaskNotReady
    /// Step 6 (A_26321).
    case dispReqTaskExpired
    /// Step 6 (A_26327): an MVO part before its period.
    case dispReqNotFillableYet
    /// Step 7.
    case taskWithoutKVNR
    /// Step 8.
    case expectedTelematikID
    case expectedKVNR
    /// Step 8 (A_27767-01): 403, the recipient's sector may not receive this flow type.
    case recipientNotAllowed(flowType: FlowType)
    /// Step 9 (A_20229-01): 429.
    case tooManyRepresentativeMessages(limit: Int)
    /// Step 10 (A_20885-04).
    case dispReqAccessCodeMissing
    case representativeAccessCodeMissing
    case headerAccessCodeMissing
    case headerAccessCodeMismatch
    /// Step 11 (A_20230-01).
    case representativeTaskStatus
    /// Step 12 (A_20231).
    case messageToSelf
    /// Step 13 (A_20752, A_20753).
    case verificationIdentityMismatch
    /// Step 14: the payload (§1.4); text and details.
    case payload(CommunicationPayload.Refusal)
    /// `GET`/`DELETE /Communication/{id}` with an id that is no UUID.
    case malformedID
    /// Unknown, or not the caller's (A_19520-02); also a DELETE of another's message (A_20258).
    case notFound
}
