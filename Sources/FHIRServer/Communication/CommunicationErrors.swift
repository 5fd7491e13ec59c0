import Dispensing
import FHIRModel
import HTTPTypes

extension ErrorSeam {
    /// `/Communication`'s answers with the FD's texts (fd-messaging-transport §1.5, §1.7, §1.8; IBM
    /// `CommunicationPostHandler.cxx`, `CommunicationGetHandler.cxx`, `CommunicationDeleteHandler.cxx`).
    static func answer(for error: CommunicationError) -> Answer {
        switch error {
        case .profileMissing:
            return make(.badRequest, "Profile missing in Communication message.")
        case .profileNotAccepted(let claimed, let accepted):
            return make(.badRequest, "invalid profile \(claimed) must be one of: \(accepted.joined(separator: ", "))")
        case .invalidBody(let diagnostics):
            return withDiagnostics(make(.badRequest, "Invalid request body", tiflow: "SVC_VALIDATION_FAILED"), diagnostics)
        case .unparsableBasedOn:
            return withDiagnostics(make(.badRequest, "Invalid request body"), "Failed to parse prescription ID from reference")
        case .senderClaimMissing:
            return make(.badRequest, "JWT does not contain a claim for the sender")
        case .replySenderProfessionInvalid:
            return make(.badRequest, "Invalid sender profession oid in communication reply message")
        case .invalidSenderTelematikID:
            return make(.badRequest, "A valid Telematic ID must contain at least one \"-\"")
        case .senderProfessionInvalid:
            return make(.badRequest, "Invalid sender profession oid in communication message")
        case .invalidKVNR:
            return make(.badRequest, "Invalid Kvnr")
        case .chargeItemMissing:
            return make(.badRequest, "referenced charge item does not exist")  // A_22734
        case .taskMissing(let id):
            return make(.badRequest, "Task for prescription id \(id) is missing")  // A_21371-03
        case .dispReqTaskNotReady:
            return make(.badRequest, "Task has invalid status.")  // A_26320
        case .dispReqTaskExpired:
            return make(.badRequest, "Task is expired.")  // A_26321
        case .dispReqNotFillableYet:
            return make(.badRequest, "Prescription is not fillable yet.")  // A_26327
        case .taskWithoutKVNR:
            return make(.badRequest, "Referenced task does not contain a KVNR")
        case .expectedTelematikID:
            return make(.badRequest, "Expected TelematikId, got KVNR")
        case .expectedKVNR:
            return make(.badRequest, "Expected KVNR, got TelematikId")
        case .recipientNotAllowed(let flowType):
            return make(.forbidden, "Der Empfänger darf den \(flowType.display) nicht empfangen")  // A_27767-01
        case .tooManyRepresentativeMessages(let limit):
            return make(.tooManyRequests, "there are already \(limit) KVNR to KVNR messages")  // A_20229-01
        case .dispReqAccessCodeMissing:
            return make(.badRequest, "Dispense request must contain an access code in payload")
        case .representativeAccessCodeMissing:
            return make(.badRequest, "Representative message sent by insurant must contain an access code in payload")
        case .headerAccessCodeMissing:
            return make(.badRequest, "Header must contain an access code")
        case .headerAccessCodeMismatch:
            return make(.badRequest, "Access code of header not equal to access code of referenced task")
        case .representativeTaskStatus:
            return make(.badRequest, "Messages between KVNR's are restricted to prescriptions that are ready or in-progress")  // A_20230-01
        case .messageToSelf:
            return make(.badRequest, "messages to self are not permitted")  // A_20231
        case .verificationIdentityMismatch:
            return make(.badRequest, "KVNR verification identities may not access information from insurants and vice versa")
        case .payload(let refusal):
            return withDiagnostics(make(.badRequest, refusal.text), refusal.diagnostics)
        case .malformedID:
            return make(.badRequest, "Invalid format of communication id")
        case .notFound:
            return make(.notFound, "no Communication found for id")
        }
    }

    private static func withDiagnostics(_ answer: Answer, _ diagnostics: String?) -> Answer {
        var answer = answer
        answer.outcome.issues[0].diagnostics = diagnostics
        return answer
    }
}
