public import Dispensing
public import FHIRModel
public import HTTPTypes

/// The one place where errors become answers: every domain and request error maps to a status and
/// an OperationOutcome by an exhaustive switch, so a new error case does not compile until it has
/// its answer. Anything else is a 500 with a fixed text (it may carry personal data otherwise).
///
/// Where the production service (FD) defines an answer, erx gives the same status, the issue code
/// of the FD's status map (``issueCode(for:)``, fd-parity §7.4) and the FD's text (`details.text`),
/// which gematik's suite compares; ``ErrorTexts`` holds the texts it words per operation. Answers
/// the FD does not have are marked "ours" and keep their own, more specific issue codes.
/// `Tests/FHIRServerTests/FDErrorTextTests.swift` lists every FD text with its source.
public enum ErrorSeam {
    public struct Answer: Sendable {
        public var status: HTTPResponse.Status
        public var outcome: OperationOutcome
        /// Extra headers (`VAU-Error-Code: brute_force` on credential mismatches, A_20703;
        /// `WWW-Authenticate` on every 401).
        public var headers: HTTPFields
    }

    /// The TI-Flow detail codes (`issue.details.coding`) for the errors that have one.
    public static let tiflowDetails = "https://gematik.de/fhir/tiflow/core/CodeSystem/tiflow-operation-outcome-details-cs"
    /// Our own detail codes, for answers gematik does not define (`locked`).
    public static let erxDetails = "https://erx.invalid/fhir/CodeSystem/erx-operation-outcome-details"
    /// The production service's challenge on a token that does not verify (A_19131, A_20373,
    /// A_20369-01: `VauRequestHandler.hxx` `wwwAuthenticateErrorInvalidToken`).
    public static let invalidTokenChallenge = "Bearer realm='prescriptionserver.telematik', error='invalACCESS_TOKEN'"
    /// The challenge on a request without any credentials: RFC 6750 §3.1 names no error code then.
    public static let missingTokenChallenge = "Bearer realm='prescriptionserver.telematik'"

    /// The answer to `error`, raised at `site` for `caller` (the texts of some answers depend on them).
    public static func answer(for error: any Error, at site: Site = .other, caller: Caller? = nil) -> Answer {
        switch error {
        case let error as DispensingError: answer(for: error, at: site, caller: caller)
        case let error as RequestError: answer(for: error)
        case let error as CommunicationError: answer(for: error)
        case let error as EGKRefusal: answer(for: error)
        case is StoreUnavailable: storeUnavailable()
        default: internalError()
        }
    }

    /// Ours (issue 21): the database cannot be reached; try again shortly. 503 and `transient`,
    /// which tells a client that the same request may succeed. The store commits nothing for a
    /// request it answers so, but a connection lost during `COMMIT` itself leaves that unknown to
    /// any client: a retried `$dispense` replaces the set anyway.
    public static func storeUnavailable() -> Answer {
        Answer(status: .serviceUnavailable, outcome: outcome(.transient, "Service temporarily unavailable: the database cannot be reached."),
               headers: [.retryAfter: "1"])
    }

    public static func internalError() -> Answer {
        Answer(status: .internalServerError, outcome: outcome(.exception, "Internal server error."), headers: [:])
    }

    /// The production service's map from HTTP status to `issue.code` (IBM `OperationOutcome.cxx`
    /// `httpCodeToOutcomeIssueType`): 406, 412, 500, 503 and every other status are `processing`.
    public static func issueCode(for status: HTTPResponse.Status) -> OperationOutcome.IssueCode {
        switch status.code {
        case 400: .invalid
        case 401: .unknown
        // 454–458 are the FD's own statuses of the eGK redemption (fd-parity §1.3).
        case 403, 423, 454...458: .forbidden
        case 404: .notFound
        case 405: .notSupported
        case 409: .conflict
        case 410: .processing
        case 415: .value
        case 429: .transient
        default: .processing
        }
    }

    static func answer(for error: DispensingError, at site: Site, caller: Caller?) -> Answer {
        let roleText = "endpoint is forbidden for professionOID \(caller?.profession.rawValue ?? "")"
        switch error {
        case .malformedPrescriptionID:
            return make(.notFound, "Failed to parse prescription ID from URL parameter", tiflow: "MSG_RESOURCE_ID_FAIL")
        case .taskNotFound:
            return make(.notFound, ErrorTexts.taskNotFound(at: site), tiflow: "MSG_RESOURCE_ID_FAIL")
        case .unsupportedFlowType:
            // Ours: the FD runs every flow type.
            return ours(.badRequest, .notSupported, "This server does not run the workflow of this flow type.")
        case .professionNotAllowedForFlowType:
            return make(.forbidden, roleText, tiflow: "TIFLOW_AUTH_ROLE_NOT_ALLOWED")
        case .secretMismatch:
            return bruteForce(make(.forbidden, ErrorTexts.secretMismatch(at: site), tiflow: "TIFLOW_SECRET_MISMATCH"))
        case .accessCodeMismatch:
            return bruteForce(make(.forbidden, "AccessCode mismatch", tiflow: "TIFLOW_ACCESSCODE_MISMATCH"))
        case .taskCancelled:
            return make(.gone, site == .accept ? "Task meanwhile deleted for prescription id" : "Task has already been deleted")
        case .wrongStatus(let current, let required):
            return make(.forbidden, ErrorTexts.wrongStatus(current, required: required, at: site), tiflow: "TIFLOW_TASK_STATUS_MISMATCH")
        case .taskAlreadyProcessed(let current, let bySameOwner):
            // A_19168-01: the FD adds a second issue when the caller itself holds the task.
            var answer = make(.conflict, "Task has invalid status \(current.rawValue)")
            if bySameOwner { answer.outcome.issues.append(.init(code: .conflict, text: "Task is processed by requesting institution")) }
            return answer
        case .prescriptionExpired(let expiryDate):
            return make(.forbidden, "Verordnung bis \(ErrorTexts.germanDate(expiryDate)) einlösbar.")
        case .multiplePrescriptionNotYetRedeemable(let mvoID, let start):
            // A_22635-02 (IBM TaskHandler.cxx processMvoPeriodStartValid; E2E ERP_EE_MVO_07: 403).
            return make(.forbidden, "Teilverordnung zur Mehrfachverordnung \(mvoID) ist ab \(ErrorTexts.germanDate(start)) einlösbar.")
        case .abortOfDraft:
            return make(.forbidden, "Abort not expected for newly created Task")
        case .telematikIDMissing:
            return make(.badRequest, ErrorTexts.telematikIDMissing(at: site))
        case .notTheInsurantsTask where site == .abort:
            // An insurant aborting another's task without the AccessCode: the FD checks
            // the AccessCode then (A_19116-01, A_20547), so this is its AccessCode mismatch.
            return bruteForce(make(.forbidden, "AccessCode mismatch", tiflow: "TIFLOW_ACCESSCODE_MISMATCH"))
        case .notTheInsurantsTask:
            return make(.forbidden, "The Task belongs to another insured person.")
        case .notTheOwner:
            // A_24176-01: 412, not 403 (fd-parity.md §2.4 row 7).
            return make(.preconditionFailed, "Task.owner doesn't match idNumberClaim in ACCESS_TOKEN", tiflow: "TIFLOW_AUTH_NOT_OWNER")
        case .taskNotAccepted:
            // A_24178-02: gematik's suite compares this text (IBM 1.22 words it "Task must be
            // in-progress or completed."; fd-parity §10 takes the suite's).
            return make(.preconditionFailed, "Task not in-progress.", tiflow: "TIFLOW_TASK_STATUS_MISMATCH")
        case .readCredentialMissing:
            // ERP_TASK_GET_PHARMACY_14 compares this text. No credential was tried, so no
            // brute_force (IBM ErpExpect, not VauExpect).
            return make(.forbidden, "Neither AccessCode(ac) nor secret provided as URI-Parameter.")
        case .draftNotReadable:
            return make(.forbidden, "Status draft is not allowed for this operation")
        case .verificationIdentityMismatch:
            // A_20753.
            return make(.badRequest, "KVNR verification identities may not access information from insurants and vice versa")
        case .representativeOfDirectAssignment:
            // A_26148.
            return make(.forbidden, "Insurant representatives may not access directly assigned tasks", tiflow: "SVC_IDENTITY_MISMATCH")
        case .invalidPrescription(let reason, let expression):
            return make(.badRequest, reason, expression: expression)
        case .prescriptionRefused(let refusal):
            var answer = make(.badRequest, refusal.text, tiflow: refusal.detailCode, expression: refusal.expression)
            answer.outcome.issues[0].diagnostics = refusal.diagnostics
            if refusal.kind == .signature {
                // A_20159-04: a prescription whose QES fails is marked for the client's VAU layer.
                answer.headers[HTTPField.Name("VAU-Error-Code")!] = "invalid_prescription"
            }
            return answer
        case .prescriptionIDMismatchInPrescription(let expression):
            return make(.badRequest, "PrescriptionId mismatch between Task and QES-Bundle", expression: expression)
        case .prescriptionIDMismatch(let expression):
            return make(.badRequest, "Prescription ID in MedicationDispense does not match the one in the task", tiflow: "SVC_VALIDATION_FAILED", expression: expression)
        case .kvnrMismatch(let expression):
            return make(.badRequest, "KVNR in MedicationDispense does not match the one in the task", tiflow: "SVC_VALIDATION_FAILED", expression: expression)
        case .telematikIDMismatch(let expression):
            return make(.badRequest, "Telematik-ID in MedicationDispense does not match the one in the access token.", tiflow: "SVC_VALIDATION_FAILED", expression: expression)
        case .medicationDispenseProfileNotAllowed(let expression):
            return make(.badRequest, "Unzulässige Abgabeinformationen: Für diesen Workflow sind nur Abgabeinformationen für Arzneimittel zulässig.",
                        tiflow: "TIFLOW_INVALID_MEDICATION_DISPENSE", expression: expression)
        case .healthAppDispenseRequired(let expression):
            return make(.badRequest, "Unzulässige Abgabeinformationen: Für diesen Workflow sind nur Abgabeinformationen für digitale Gesundheitsanwendungen zulässig.",
                        tiflow: "TIFLOW_INVALID_MEDICATION_DISPENSE", expression: expression)
        case .expiredMedicationDispensed(let expression):
            // Ours (ARCHITECTURE decisions 4 and 14, `--rules strict`): a business rule the FD does not have.
            return ours(.unprocessableContent, .businessRule, "Cannot dispense expired medication: the batch expired before it was handed over.", expression: expression)
        case .quantityExceedsPrescription(let expression, let dispensed, let prescribed, let unit):
            // Ours (ARCHITECTURE decision 14, `--rules strict`).
            return ours(.unprocessableContent, .businessRule,
                        "Die abgegebene Menge übersteigt die verordnete: \(dispensed) statt höchstens \(prescribed) (\(unit)). "
                            + "The quantity dispensed exceeds the quantity prescribed: \(dispensed), at most \(prescribed) (\(unit)).",
                        expression: expression)
        case .substitutionExcluded(let expression):
            // Ours (ARCHITECTURE decision 14, `--rules strict`).
            return ours(.unprocessableContent, .businessRule,
                        "Aut idem ausgeschlossen: Abgegeben werden darf nur das verordnete Arzneimittel (PZN). "
                            + "The prescriber excluded substitution (aut idem): the PZN dispensed is not the PZN prescribed.",
                        expression: expression)
        case .noDispensationSent:
            // The FD refuses this body by validation (`parameter` 1..*); the text is ours.
            return make(.badRequest, "The request holds no rxDispensation.", expression: "Parameters.parameter")
        case .noDispensationToClose:
            return make(.forbidden, "Abschluss des Workflows konnte nicht durchgeführt werden. Dispensierinformationen wurden nicht bereitgestellt.", tiflow: "TIFLOW_MEDICATION_DISPENSE_MISSING")
        case .insurantObjected:
            // Ours (ARCHITECTURE decision 5); 423 is `forbidden` in the FD's map too.
            var answer = make(HTTPResponse.Status(code: 423, reasonPhrase: "Locked"), "The insured person has objected to the processing of dispensation data.")
            answer.outcome.issues[0].detailCode = .init(system: erxDetails, code: "locked")
            return answer
        }
    }

    static func answer(for error: RequestError) -> Answer {
        switch error {
        case .unauthenticated(let failure):
            var answer = make(.unauthorized, ErrorTexts.unauthenticated(failure), tiflow: "MSG_AUTH_REQUIRED")
            answer.headers[.wwwAuthenticate] = failure == .missingHeader ? missingTokenChallenge : invalidTokenChallenge
            return answer
        case .tokenRateLimited:
            // A_19992 (IBM `VauRequestHandler::handleDosCheck`).
            return bruteForce(make(.tooManyRequests, "Token with given sub used too often within certain timespan."))
        case .tokenClaimMissing(let claim):
            return make(.badRequest, "Missing claim in ACCESS_TOKEN: \(claim)")
        case .professionNotAllowed(let oid):
            return make(.forbidden, "endpoint is forbidden for professionOID \(oid)", tiflow: "TIFLOW_AUTH_ROLE_NOT_ALLOWED")
        case .negotiation(.missingContentType):
            return make(.badRequest, "Missing ContentType in request header")
        case .negotiation(.unsupportedMediaType(let contentType)):
            return make(.unsupportedMediaType, "Invalid content type (mime type) received: \(contentType)")
        case .negotiation(.unsupportedCharset(let contentType)):
            return make(.unsupportedMediaType, "Invalid content type encoding received: \(contentType)")
        case .negotiation(.notAcceptable(let requested)):
            return make(.notAcceptable, "Requested format '\(requested)' cannot be provided")
        case .bodyTooLarge:
            // Ours: the FD's limit is its HTTP parser's, whose answer is unknown (dispense-spec §1.2).
            return ours(.contentTooLarge, .tooLong, "The request body exceeds 1 MiB.")
        case .bodyMissing(let expected):
            return make(.badRequest, "Missing request body.", expression: expected)
        case .unreadableBody(let issue):
            // The FD's text leads (`MedicationDispenseHandlerBase::parseBody`); the reader's issue,
            // with where it stopped, follows.
            return lead("Error during request parsing.", details: [issue])
        case .wrongResource(let expected, let found):
            return make(.badRequest, "The operation takes a \(expected), not a \(found).", expression: found)
        case .legacyDispensationForm(let found):
            return make(.badRequest, "MedicationDispense in versions 1.4 or later must be provided as Parameters", expression: found)
        case .profileNotAllowed(let expression, let admitted):
            return make(.badRequest, "The body must claim exactly one versioned profile \(admitted).", tiflow: "SVC_VALIDATION_FAILED", expression: expression)
        case .validationFailed(let issues):
            // The FD's text (`ResourceFactoryBase::errorMessage`) leads; the validator's issues
            // follow. An extension nothing admits has its own text there (A_22927-03).
            let unintendedExtension = issues.contains { $0.code == .extension && ($0.severity == .error || $0.severity == .fatal) }
            return lead(unintendedExtension ? "Unintendierte Verwendung von Extensions an unspezifizierter Stelle" : "FHIR-Validation error",
                        tiflow: "SVC_VALIDATION_FAILED", details: issues)
        case .bodyTooCostly(.tooManyElements(let limit)):
            // Ours (issue 19): the production service has no such limit short of its 1 MiB.
            return ours(.badRequest, .tooCostly, "The body holds more than \(limit) elements.")
        case .bodyTooCostly(.tooManyRepeats(let expression, let limit)):
            return ours(.badRequest, .tooCostly, "An element repeats more than \(limit) times.", expression: expression)
        case .searchParameterRefused(let name, let text):
            return make(.badRequest, text, expression: name)
        case .invalidSearchParameter(let name):
            return make(.badRequest, "The search parameter \(name) has a value that cannot be used.", expression: name)
        case .auditEventIDMalformed:
            return make(.badRequest, "Invalid format of AuditEvent id")
        case .auditEventNotFound:
            return make(.notFound, "No AuditEvent found for id")
        case .noMatchingHandler:
            return make(.methodNotAllowed, "no matching handler found.")
        case .routeNotFound:
            return ours(.notFound, .notFound, "No such resource or operation.")
        case .consentCategoryMissing:
            return make(.methodNotAllowed, "Category must be specified")
        case .invalidResource(let reason, let expression):
            return make(.badRequest, reason, expression: expression)
        case .consentOfAnotherInsurant(let expression):
            return make(.forbidden, "A Consent can only be given for the insured person of the access token.", expression: expression)
        case .objectionExists:
            return make(.conflict, "This objection is already recorded.")
        case .objectionNotFound:
            return make(.notFound, "Could not find any consent for given KVNR")
        case .subscriptionInvalid(let issues):
            // IBM `SubscriptionPostHandler`: the parser's text leads, the validator's issues follow.
            return lead("Error during request parsing.", details: issues)
        case .subscriptionRecipientMissing:
            return make(.badRequest, "Missing recipient")  // IBM model/Subscription.cxx
        case .subscriptionStatusNotSupported:
            return make(.badRequest, "Request status not supported")
        case .tunnelled(.malformed):
            // Ours: IBM answers its HTTP parser's (Boost.Beast) text, which is not the FD's contract.
            return ours(.badRequest, .structure, "The inner request is not one complete HTTP/1.1 request.")
        case .tunnelled(.byteOrderMark):
            return make(.badRequest, "illegal BOM before inner request body")  // A_28427
        case .tunnelled(.authorizationMissing):
            return make(.badRequest, "Authorization header is missing")
        case .tunnelled(.authorizationNotBearer):
            return make(.badRequest, "invalid Authorization Bearer header field")
        case .tunnelled(.authorizationMismatch):
            return make(.badRequest, "Authorization header is invalid")
        case .subscriptionTelematikIDMissing:
            return make(.badRequest, "No valid Telematik-ID in JWT")
        case .subscriptionRecipientMismatch:
            // A_22363 / IG-TIFLOW-CORE-351: 403. IBM words it "ID mismatch"; the IG names the code
            // and text below, which we give (fd-messaging-transport §2.1 row 5).
            return make(.forbidden, "Identity mismatch: Access token does not match FHIR data (Telematik-ID)", tiflow: "SVC_IDENTITY_MISMATCH")
        case .subscriptionChannelNotSupported(let type):
            // Ours: the FD reads no channel type; erx runs websocket (the FD's) and rest-hook (ours) only.
            return ours(.badRequest, .notSupported, "Subscription channel type '\(type)' is not supported.", expression: "Subscription.channel.type")
        case .subscriptionNotFound:
            return ours(.notFound, .notFound, "No Subscription of the caller has this id.")
        }
    }

    /// A pharmacy's eGK proof refused (fd-parity §1.3): the FD's statuses, including its own
    /// 454–458, and its texts.
    static func answer(for error: EGKRefusal) -> Answer {
        let presence = "Anwesenheitsnachweis konnte nicht erfolgreich durchgeführt werden"
        func fd(_ code: Int, _ phrase: String) -> HTTPResponse.Status { HTTPResponse.Status(code: code, reasonPhrase: phrase) }
        switch error {
        case .telematikIDMissing: return make(.badRequest, "No valid Telematik-ID in JWT")
        case .blockedForToday: return make(fd(423, "Locked"), "TelematikId blocked for today.")
        case .kvnrMissing: return make(fd(455, "Reject Missing KVNR"), "Ein Prüfnachweis ohne KVNR wird nicht akzeptiert.")
        case .kvnrInvalid: return make(.forbidden, "Invalid Kvnr")
        case .hcvMissing: return make(fd(457, "Reject Missing HCV"), "Ein Prüfnachweis ohne HCV wird nicht akzeptiert.")
        case .pnwMissing: return make(.forbidden, "Missing or invalid PNW query parameter and X-PoPP-Token header")
        case .pnwUndecodable: return make(.forbidden, "Failed decoding PNW data.")
        case .pnwInvalid: return make(.forbidden, "Failed parsing PNW XML.")
        case .checkDigitSize: return make(.forbidden, "Invalid size of Prüfziffer")
        case .checkDigitFormat: return make(.forbidden, "Ungültiges Format der Prüfziffer.")
        case .checkDigitMissing:
            return make(.forbidden, "\(presence) (Prüfziffer fehlt im VSDM Prüfungsnachweis oder ungültiges Ergebnis im Prüfungsnachweis).")
        case .hmacFailed: return make(.forbidden, "\(presence) (Fehler bei Prüfung der HMAC-Sicherung).")
        case .decryptionFailed: return make(.forbidden, "\(presence) (VSDM Schlüssel nicht vorhanden oder Inhalte nicht entschlüsselbar).")
        case .hcvUndecodable: return make(.badRequest, "HCV Base64-Dekodierung fehlgeschlagen.")
        case .cardRevoked: return make(.forbidden, "eGK gesperrt")
        case .proofExpired: return make(.forbidden, "\(presence) (Zeitliche Gültigkeit des Anwesenheitsnachweis überschritten).")
        case .hcvMismatch: return make(fd(458, "Reject HCV Mismatch"), "HCV Validierung fehlgeschlagen.")
        case .kvnrMismatch: return make(fd(456, "KVNR Mismatch"), "KVNR Überprüfung fehlgeschlagen.")
        case .pn3NotAccepted: return make(fd(454, "Not Accept PN3"), "Es wird kein Prüfnachweis mit Ergebnis 3 (ohne Prüfziffer) akzeptiert.")
        case .poppInvalid: return make(.forbidden, "POPP-Token verification error.")
        case .poppUnreadable: return make(.badRequest, "Error during PoPP-Token processing.")
        }
    }

    /// An answer the FD defines: the issue code follows from the status.
    static func make(_ status: HTTPResponse.Status, _ text: String, tiflow: String? = nil, expression: String? = nil) -> Answer {
        ours(status, issueCode(for: status), text, tiflow: tiflow, expression: expression)
    }

    /// An answer of our own, with its own issue code.
    static func ours(
        _ status: HTTPResponse.Status, _ code: OperationOutcome.IssueCode, _ text: String, tiflow: String? = nil, expression: String? = nil
    ) -> Answer {
        var result = outcome(code, text)
        result.issues[0].detailCode = tiflow.map { .init(system: tiflowDetails, code: $0) }
        result.issues[0].expression = expression.map { [$0] } ?? []
        return Answer(status: status, outcome: result, headers: [:])
    }

    /// A 400 whose first issue is the FD's (text, `invalid`) and whose further issues say what and where.
    private static func lead(_ text: String, tiflow: String? = nil, details: [OperationOutcome.Issue]) -> Answer {
        var answer = make(.badRequest, text, tiflow: tiflow)
        answer.outcome.issues += details
        return answer
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
