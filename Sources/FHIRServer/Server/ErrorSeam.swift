public import Dispensing
public import FHIRModel
public import HTTPTypes

/// The one place where errors become answers: every domain and request error maps to a status and
/// an OperationOutcome by an exhaustive switch, so a new error case does not compile until it has
/// its answer. Anything else is a 500 with a fixed text (it may carry personal data otherwise).
public enum ErrorSeam {
    public struct Answer: Sendable {
        public var status: HTTPResponse.Status
        public var outcome: OperationOutcome
        /// Extra headers (`VAU-Error-Code: brute_force` on credential mismatches, A_20703).
        public var headers: HTTPFields
    }

    /// The TI-Flow detail codes (`issue.details.coding`) for the errors that have one.
    public static let tiflowDetails = "https://gematik.de/fhir/tiflow/core/CodeSystem/tiflow-operation-outcome-details-cs"
    /// Our own detail codes, for answers gematik does not define (`locked`).
    public static let erxDetails = "https://erx.invalid/fhir/CodeSystem/erx-operation-outcome-details"

    public static func answer(for error: any Error) -> Answer {
        switch error {
        case let error as DispensingError: answer(for: error)
        case let error as RequestError: answer(for: error)
        default: internalError()
        }
    }

    public static func internalError() -> Answer {
        Answer(status: .internalServerError, outcome: outcome(.exception, "Internal server error."), headers: [:])
    }

    static func answer(for error: DispensingError) -> Answer {
        switch error {
        case .malformedPrescriptionID:
            return make(.notFound, .notFound, "Failed to parse prescription ID from URL parameter.", tiflow: "MSG_RESOURCE_ID_FAIL")
        case .taskNotFound:
            return make(.notFound, .notFound, "Task not found for prescription ID.", tiflow: "MSG_RESOURCE_ID_FAIL")
        case .unsupportedFlowType:
            return make(.badRequest, .notSupported, "This server does not run the workflow of this flow type.")
        case .professionNotAllowedForFlowType:
            return make(.forbidden, .forbidden, "The caller's profession may not run this operation for this flow type.", tiflow: "TIFLOW_AUTH_ROLE_NOT_ALLOWED")
        case .secretMismatch:
            return bruteForce(make(.forbidden, .forbidden, "No or invalid secret provided for Task.", tiflow: "TIFLOW_SECRET_MISMATCH"))
        case .accessCodeMismatch:
            return bruteForce(make(.forbidden, .forbidden, "No or invalid AccessCode provided for Task."))
        case .taskCancelled:
            return make(.gone, .processing, "Task has already been deleted.")
        case .wrongStatus(let current, let required):
            let admitted = TaskStatus.allCases.filter(required.contains).map(\.rawValue).joined(separator: " or ")
            return make(.forbidden, .forbidden, "Task has invalid status \(current.rawValue); the operation needs \(admitted).", tiflow: "TIFLOW_TASK_STATUS_MISMATCH")
        case .taskAlreadyProcessed(let current, let bySameOwner):
            let text = "Task has invalid status \(current.rawValue)." + (bySameOwner ? " Task is processed by requesting institution." : "")
            return make(.conflict, .conflict, text)
        case .prescriptionExpired(let expiryDate):
            return make(.forbidden, .forbidden, "The prescription could be redeemed until \(expiryDate).")
        case .abortOfDraft:
            return make(.forbidden, .forbidden, "Abort not expected for newly created Task.")
        case .telematikIDMissing:
            return make(.badRequest, .invalid, "Telematik-ID not contained in the access token.")
        case .notTheInsurantsTask:
            return make(.forbidden, .forbidden, "The Task belongs to another insured person.")
        case .notTheOwner:
            // A_24176-01: 412, not 403 (fd-parity.md §2.4 row 7).
            return make(.preconditionFailed, .processing, "Task.owner doesn't match idNumberClaim in ACCESS_TOKEN", tiflow: "TIFLOW_AUTH_NOT_OWNER")
        case .taskNotAccepted:
            // A_24178-02; gematik's suite compares this text (ERP_TASK_GET_PHARMACY_16).
            return make(.preconditionFailed, .processing, "Task not in-progress.", tiflow: "TIFLOW_TASK_STATUS_MISMATCH")
        case .readCredentialMissing:
            // gematik's suite compares this text (ERP_TASK_GET_PHARMACY_14).
            return make(.forbidden, .forbidden, "Neither AccessCode(ac) nor secret provided as URI-Parameter.")
        case .draftNotReadable:
            return make(.forbidden, .forbidden, "Status draft is not allowed for this operation")
        case .verificationIdentityMismatch:
            // A_20753.
            return make(.badRequest, .invalid, "KVNR verification identities may not access information from insurants and vice versa")
        case .representativeOfDirectAssignment:
            // A_26148.
            return make(.forbidden, .forbidden, "Insurant representatives may not access directly assigned tasks", tiflow: "SVC_IDENTITY_MISMATCH")
        case .invalidPrescription(let reason, let expression):
            return make(.badRequest, .invalid, reason, expression: expression)
        case .prescriptionIDMismatchInPrescription(let expression):
            return make(.badRequest, .invalid, "PrescriptionID in the prescription does not match the one of the Task.", expression: expression)
        case .prescriptionIDMismatch(let expression):
            return make(.badRequest, .invalid, "Prescription ID in MedicationDispense does not match the one in the task.", tiflow: "SVC_VALIDATION_FAILED", expression: expression)
        case .kvnrMismatch(let expression):
            return make(.badRequest, .invalid, "KVNR in MedicationDispense does not match the one in the task.", tiflow: "SVC_VALIDATION_FAILED", expression: expression)
        case .telematikIDMismatch(let expression):
            return make(.badRequest, .invalid, "Telematik-ID in MedicationDispense does not match the one in the access token.", tiflow: "SVC_VALIDATION_FAILED", expression: expression)
        case .medicationDispenseProfileNotAllowed(let expression):
            return make(.badRequest, .invalid, "Für diesen Workflow sind nur Abgabeinformationen für Arzneimittel zulässig.", tiflow: "TIFLOW_INVALID_MEDICATION_DISPENSE", expression: expression)
        case .expiredMedicationDispensed(let expression):
            return make(.unprocessableContent, .businessRule, "Cannot dispense expired medication: the batch expired before it was handed over.", expression: expression)
        case .noDispensationSent:
            return make(.badRequest, .required, "The request holds no rxDispensation.", expression: "Parameters.parameter")
        case .noDispensationToClose:
            return make(.forbidden, .forbidden, "Abschluss des Workflows konnte nicht durchgeführt werden. Dispensierinformationen wurden nicht bereitgestellt.", tiflow: "TIFLOW_MEDICATION_DISPENSE_MISSING")
        case .insurantObjected:
            var answer = make(HTTPResponse.Status(code: 423, reasonPhrase: "Locked"), .forbidden, "The insured person has objected to the processing of dispensation data.")
            answer.outcome.issues[0].detailCode = .init(system: erxDetails, code: "locked")
            return answer
        }
    }

    static func answer(for error: RequestError) -> Answer {
        switch error {
        case .unauthenticated:
            return make(.unauthorized, .login, "No valid access token.", tiflow: "MSG_AUTH_REQUIRED")
        case .tokenClaimMissing(let claim):
            return make(.badRequest, .invalid, "Missing claim in ACCESS_TOKEN: \(claim)")
        case .professionNotAllowed:
            return make(.forbidden, .forbidden, "Der Nutzer ist nicht berechtigt, die aufgerufene Operation anzufordern.", tiflow: "TIFLOW_AUTH_ROLE_NOT_ALLOWED")
        case .negotiation(.missingContentType):
            return make(.badRequest, .invalid, "A request body needs a Content-Type header.")
        case .negotiation(.unsupportedMediaType):
            return make(.unsupportedMediaType, .value, "Content-Type must be application/fhir+json or application/fhir+xml with charset UTF-8.")
        case .negotiation(.notAcceptable):
            return make(.notAcceptable, .notSupported, "Only application/fhir+json and application/fhir+xml can be returned.")
        case .bodyTooLarge:
            return make(.contentTooLarge, .tooLong, "The request body exceeds 1 MiB.")
        case .bodyMissing(let expected):
            return make(.badRequest, .required, "The operation needs a \(expected) in the request body.", expression: expected)
        case .unreadableBody(let issue):
            var outcome = outcome(.structure, "Error during request parsing.")
            outcome.issues = [issue]
            return Answer(status: .badRequest, outcome: outcome, headers: [:])
        case .wrongResource(let expected, let found):
            return make(.badRequest, .invalid, "The operation takes a \(expected), not a \(found).", expression: found)
        case .legacyDispensationForm(let found):
            return make(.badRequest, .invalid, "MedicationDispense in versions 1.4 or later must be provided as Parameters (found a \(found)).", expression: found)
        case .profileNotAllowed(let expression, let admitted):
            return make(.badRequest, .invalid, "The body must claim exactly one versioned profile \(admitted).", tiflow: "SVC_VALIDATION_FAILED", expression: expression)
        case .validationFailed(let issues):
            return Answer(status: .badRequest, outcome: OperationOutcome(issues: issues), headers: [:])
        case .bodyTooCostly(.tooManyElements(let limit)):
            // Ours (issue 19): the production service has no such limit short of its 1 MiB.
            return make(.badRequest, .tooCostly, "The body holds more than \(limit) elements.")
        case .bodyTooCostly(.tooManyRepeats(let expression, let limit)):
            return make(.badRequest, .tooCostly, "An element repeats more than \(limit) times.", expression: expression)
        case .searchParameterRefused(let name, let text):
            return make(.badRequest, .invalid, text, expression: name)
        case .invalidSearchParameter(let name):
            return make(.badRequest, .invalid, "The search parameter \(name) has a value that cannot be used.", expression: name)
        case .auditEventIDMalformed:
            return make(.badRequest, .invalid, "Invalid format of AuditEvent id")
        case .auditEventNotFound:
            return make(.notFound, .notFound, "No AuditEvent found for id")
        case .routeNotFound:
            return make(.notFound, .notFound, "No such resource or operation.")
        case .invalidResource(let reason, let expression):
            return make(.badRequest, .invalid, reason, expression: expression)
        case .consentOfAnotherInsurant(let expression):
            return make(.forbidden, .forbidden, "A Consent can only be given for the insured person of the access token.", expression: expression)
        case .objectionExists:
            return make(.conflict, .duplicate, "This objection is already recorded.")
        case .objectionNotFound:
            return make(.notFound, .notFound, "No objection of this category is recorded.")
        }
    }

    private static func make(
        _ status: HTTPResponse.Status, _ code: OperationOutcome.IssueCode, _ text: String, tiflow: String? = nil, expression: String? = nil
    ) -> Answer {
        var result = outcome(code, text)
        result.issues[0].detailCode = tiflow.map { .init(system: tiflowDetails, code: $0) }
        result.issues[0].expression = expression.map { [$0] } ?? []
        return Answer(status: status, outcome: result, headers: [:])
    }

    private static func outcome(_ code: OperationOutcome.IssueCode, _ text: String) -> OperationOutcome {
        OperationOutcome(issues: [.init(severity: .error, code: code, text: text)])
    }

    private static func bruteForce(_ answer: Answer) -> Answer {
        var answer = answer
        answer.headers[HTTPField.Name("VAU-Error-Code")!] = "brute_force"
        return answer
    }
}
