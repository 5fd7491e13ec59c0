import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Issue 20, items 3 and 4: every error answer the production service (FD) defines, with its status,
/// issue code (fd-parity §7.4) and `details.text`, driven over a real socket in JSON and in XML.
/// "E2E exact"/"E2E contains": gematik's suite (erp-e2e-testsuite 1.3.0) compares that text so;
/// "IBM": the text of `eRP-FD/erp-processing-context` 1.22.0-6 (file named), no suite compares it;
/// "ours": an answer the FD does not have (its own code and text).
@Suite struct FDErrorTextTests {
    struct Row: Sendable, CustomStringConvertible {
        /// The seam's case.
        let error: String
        let task: TaskFactory.State
        let request: ScenarioReplayTests.Scenario.Request
        let status: Int
        let code: String
        /// `issue[0].details.text`; `{{mediaType}}` is filled.
        let text: String
        /// The text of a further issue, where the FD sends two.
        let more: String?
        let header: [String: String]
        let source: String
        /// The server's `--rules` (our business rules answer only under `strict`).
        var rules = DispensingPolicy.fd
        var description: String { error }
    }

    static let secret0 = String(repeating: "0", count: 64)
    static let invalidChallenge = "Bearer realm='prescriptionserver.telematik', error='invalACCESS_TOKEN'"

    static func row(
        _ error: String, _ task: TaskFactory.State, _ method: String, _ path: String, _ caller: String,
        body: String? = nil, edits: [[String]]? = nil, rawBody: String? = nil, contentType: String? = nil,
        accept: String? = nil, headers: [String: String]? = nil,
        _ status: Int, _ code: String, _ text: String, more: String? = nil, header: [String: String] = [:], source: String,
        rules: DispensingPolicy = .fd
    ) -> Row {
        Row(error: error, task: task,
            request: .init(method: method, path: path, caller: caller, body: body, rawBody: rawBody, edits: edits,
                           contentType: contentType, accept: accept, headers: headers),
            status: status, code: code, text: text, more: more, header: header, source: source, rules: rules)
    }

    static let dispense = "/Task/{{id}}/$dispense?secret={{secret}}"
    static let body16 = "bodies/dispense-1.6.json"
    static let subscription = "bodies/subscription-websocket.json"
    static let bruteForce = ["VAU-Error-Code": "brute_force"]

    static let rows: [Row] = [
        // Pipeline (fd-parity §7.1): token form, route, token, role, format.
        row("unauthenticated(.missingHeader)", .inProgress, "POST", dispense, "none", body: body16,
            401, "unknown", "Authorization header is missing", header: ["WWW-Authenticate": "Bearer realm='prescriptionserver.telematik'"],
            source: "IBM VauRequestHandler.cxx (there 400); 401 as RFC 6750"),
        row("unauthenticated(.notBearer)", .inProgress, "POST", dispense, "none", body: body16, headers: ["Authorization": "Basic eDp5"],
            401, "unknown", "invalid Authorization Bearer header field", header: ["WWW-Authenticate": invalidChallenge],
            source: "IBM VauRequestHandler.cxx getJwtFromAuthorizationHeader (there 400)"),
        row("unauthenticated(.malformedToken)", .inProgress, "POST", dispense, "none", body: body16, headers: ["Authorization": "Bearer abc"],
            401, "unknown", "JWT has invalid format", header: ["WWW-Authenticate": invalidChallenge], source: "IBM VauRequestHandler.cxx (JwtInvalidFormatException)"),
        row("unauthenticated(.invalidSignature)", .inProgress, "POST", dispense, "invalid", body: body16,
            401, "unknown", "JWT has invalid signature", header: ["WWW-Authenticate": invalidChallenge], source: "A_19131; IBM VauRequestHandler.cxx"),
        row("noMatchingHandler", .dispensed, "GET", "/MedicationDispense/{{id}}", "insurant",
            405, "not-supported", "no matching handler found.", source: "A_19400; E2E contains GET_MEDICATION_DISPENSE_BY_ID_SHOULD_FAIL_01"),
        row("noMatchingHandler (unknown type)", .unknown, "GET", "/Patient", "doctor",
            405, "not-supported", "no matching handler found.", source: "A_19030 and siblings; IBM VauRequestHandler.cxx"),
        row("professionNotAllowed", .inProgress, "POST", dispense, "doctor", body: body16,
            403, "forbidden", "endpoint is forbidden for professionOID 1.2.276.0.76.4.50", source: "A_24279; E2E contains ERP_CONSENT_DELETE_01 (prefix)"),
        row("negotiation(.notAcceptable) _format", .inProgress, "POST", "/Task/{{id}}/$dispense?secret={{secret}}&_format=html", "pharmacy",
            body: body16, 406, "processing", "Requested format 'html' cannot be provided", source: "A_19539; IBM ErpRequestHandler.cxx callerWantsJson"),
        row("negotiation(.notAcceptable) Accept", .inProgress, "POST", dispense, "pharmacy", body: body16, accept: "text/html",
            406, "processing", "Requested format 'text/html' cannot be provided", source: "A_19539; IBM ErpRequestHandler.cxx callerWantsJson"),
        // The path's id and the task.
        row("malformedPrescriptionID", .unknown, "POST", "/Task/160.000.000.000.000.01/$dispense?secret=x", "pharmacy",
            404, "not-found", "Failed to parse prescription ID from URL parameter", source: "IBM ErpRequestHandler.cxx parseId"),
        row("taskNotFound", .unknown, "POST", dispense, "pharmacy", body: body16,
            404, "not-found", "Task not found for prescription id", source: "IBM DispenseTaskHandler.cxx"),
        row("taskNotFound ($activate)", .unknown, "POST", "/Task/{{id}}/$activate?ac=x", "doctor", body: "bodies/prescription-bundle.json",
            404, "not-found", "Requested Task not found in DB", source: "IBM ActivateTaskHandler.cxx"),
        row("taskNotFound (GET /Task/{id})", .unknown, "GET", "/Task/{{id}}?secret=x", "pharmacy",
            404, "not-found", "Task not found in DB", source: "IBM GetTaskHandler.cxx checkTaskState"),
        row("taskCancelled", .cancelled, "POST", "/Task/{{id}}/$close?secret=x", "pharmacy",
            410, "processing", "Task has already been deleted", source: "IBM CloseTaskHandler.cxx"),
        row("taskCancelled ($accept)", .cancelled, "POST", "/Task/{{id}}/$accept?ac={{accessCode}}", "pharmacy",
            410, "processing", "Task meanwhile deleted for prescription id", source: "A_19149-02; IBM AcceptTaskHandler.cxx"),
        // Credentials (A_20703: VAU-Error-Code brute_force).
        row("secretMismatch", .inProgress, "POST", "/Task/{{id}}/$dispense?secret=\(secret0)", "pharmacy", body: body16,
            403, "forbidden", "No or invalid secret provided for Task", header: bruteForce, source: "A_24280; IBM DispenseTaskHandler.cxx"),
        row("secretMismatch ($reject)", .inProgress, "POST", "/Task/{{id}}/$reject?secret=\(secret0)", "pharmacy",
            403, "forbidden", "No or invalid secret", header: bruteForce, source: "A_19171-03; IBM RejectTaskHandler.cxx"),
        row("secretMismatch ($abort)", .inProgress, "POST", "/Task/{{id}}/$abort?secret=\(secret0)", "pharmacy",
            403, "forbidden", "No or invalid secret provided for user pharmacy", header: bruteForce, source: "A_19224; IBM AbortTaskHandler.cxx"),
        row("accessCodeMismatch", .ready, "POST", "/Task/{{id}}/$accept?ac=\(secret0)", "pharmacy",
            403, "forbidden", "AccessCode mismatch", header: bruteForce, source: "A_19167-04; IBM TaskHandler.cxx checkAccessCodeMatches"),
        row("accessCodeMismatch (GET ?ac)", .inProgress, "GET", "/Task/{{id}}?ac=\(secret0)", "pharmacy",
            403, "forbidden", "AccessCode mismatch", header: bruteForce, source: "A_24177-01; E2E exact ERP_TASK_GET_PHARMACY_15"),
        row("credentialMissing", .inProgress, "GET", "/Task/{{id}}", "pharmacy",
            403, "forbidden", "Neither AccessCode(ac) nor secret provided as URI-Parameter.", source: "A_24177; E2E exact ERP_TASK_GET_PHARMACY_14"),
        row("notTheInsurantsTask ($abort)", .ready, "POST", "/Task/{{id}}/$abort", "otherInsurant",
            403, "forbidden", "AccessCode mismatch", header: bruteForce, source: "A_20547; IBM AbortTaskHandler.cxx"),
        row("notTheInsurantsTask (GET /Task/{id})", .ready, "GET", "/Task/{{id}}", "otherInsurant",
            403, "forbidden", "AccessCode mismatch", header: bruteForce, source: "A_19116-01; IBM GetTaskHandler.cxx handleRequestFromPatient"),
        // Status.
        row("wrongStatus ($activate)", .ready, "POST", "/Task/{{id}}/$activate?ac={{accessCode}}", "doctor", body: "bodies/prescription-bundle.json",
            403, "forbidden", "Task not in status draft but in status ready", source: "A_19024-03; IBM ActivateTaskHandler.cxx"),
        row("wrongStatus ($dispense)", .completed, "POST", dispense, "pharmacy", body: body16,
            403, "forbidden", "Task not in-progress.", source: "A_24298; IBM DispenseTaskHandler.cxx"),
        row("wrongStatus ($close)", .completed, "POST", "/Task/{{id}}/$close?secret={{secret}}", "pharmacy",
            403, "forbidden", "Task has to be in progress, but is: completed", source: "A_19231-02; IBM CloseTaskHandler.cxx"),
        row("wrongStatus ($reject)", .ready, "POST", "/Task/{{id}}/$reject?secret=\(secret0)", "pharmacy",
            403, "forbidden", "Task not in status in progress, is: ready", source: "A_19171-03; IBM RejectTaskHandler.cxx"),
        row("wrongStatus ($abort, pharmacy)", .ready, "POST", "/Task/{{id}}/$abort?secret=\(secret0)", "pharmacy",
            403, "forbidden", "Task must be in progress for user pharmacy, is: ready", source: "A_19146; IBM AbortTaskHandler.cxx"),
        row("wrongStatus ($abort, in progress)", .inProgress, "POST", "/Task/{{id}}/$abort?ac={{accessCode}}", "doctor",
            403, "forbidden", "Task must not be in progress for users other than pharmacy, but is: in-progress", source: "A_19145-01; IBM AbortTaskHandler.cxx"),
        row("wrongStatus ($abort, doctor)", .completed, "POST", "/Task/{{id}}/$abort?ac={{accessCode}}", "doctor",
            403, "forbidden", "Task must be ready for doctor, but is: completed", source: "A_19120-03; IBM AbortTaskHandler.cxx"),
        row("abortOfDraft", .draft, "POST", "/Task/{{id}}/$abort?ac={{accessCode}}", "doctor",
            403, "forbidden", "Abort not expected for newly created Task", source: "IBM AbortTaskHandler.cxx"),
        row("taskAlreadyProcessed (same owner)", .inProgress, "POST", "/Task/{{id}}/$accept?ac={{accessCode}}", "pharmacy",
            409, "conflict", "Task has invalid status in-progress", more: "Task is processed by requesting institution",
            source: "A_19168-01; E2E exact (second issue) TaskAcceptUsecase"),
        row("taskAlreadyProcessed", .completed, "POST", "/Task/{{id}}/$accept?ac={{accessCode}}", "pharmacy",
            409, "conflict", "Task has invalid status completed", source: "A_19168-01; IBM AcceptTaskHandler.cxx"),
        row("taskNotAccepted", .ready, "GET", "/Task/{{id}}?ac={{accessCode}}", "pharmacy",
            412, "processing", "Task not in-progress.", source: "A_24178-02; E2E exact ERP_TASK_GET_PHARMACY_16"),
        row("notTheOwner", .inProgress, "GET", "/Task/{{id}}?ac={{accessCode}}", "otherPharmacy",
            412, "processing", "Task.owner doesn't match idNumberClaim in ACCESS_TOKEN", source: "A_24176-01; IBM GetTaskHandler.cxx"),
        row("telematikIDMissing", .inProgress, "POST", dispense, "pharmacyWithoutTelematikID", body: body16,
            400, "invalid", "Telematik-ID not contained in JWT", source: "IBM DispenseTaskHandler.cxx"),
        row("telematikIDMissing ($accept)", .ready, "POST", "/Task/{{id}}/$accept?ac={{accessCode}}", "pharmacyWithoutTelematikID",
            400, "invalid", "Missing Telematik-ID in ACCESS_TOKEN", source: "IBM AcceptTaskHandler.cxx"),
        row("noDispensationToClose", .inProgress, "POST", "/Task/{{id}}/$close?secret={{secret}}", "pharmacy",
            403, "forbidden", "Abschluss des Workflows konnte nicht durchgeführt werden. Dispensierinformationen wurden nicht bereitgestellt.",
            source: "A_24287-01; IBM CloseTaskHandler.cxx"),
        // The body.
        row("negotiation(.missingContentType)", .inProgress, "POST", dispense, "pharmacy", body: body16, contentType: "none",
            400, "invalid", "Missing ContentType in request header", source: "IBM ErpRequestHandler.hxx createResourceFactory"),
        row("negotiation(.unsupportedMediaType)", .inProgress, "POST", dispense, "pharmacy", body: body16, contentType: "text/plain",
            415, "value", "Invalid content type (mime type) received: text/plain", source: "IBM ErpRequestHandler.hxx createResourceFactory"),
        row("negotiation(.unsupportedCharset)", .inProgress, "POST", dispense, "pharmacy", body: body16, contentType: "{{mediaType}};charset=ISO-8859-1",
            415, "value", "Invalid content type encoding received: {{mediaType}};charset=ISO-8859-1", source: "IBM ErpRequestHandler.cxx checkValidEncoding"),
        row("bodyMissing", .unknown, "POST", "/Task/$create", "doctor",
            400, "invalid", "Missing request body.", source: "IBM EuCloseTaskHandler.cxx (the FD's wording for an empty body)"),
        row("unreadableBody", .inProgress, "POST", dispense, "pharmacy", rawBody: "this is not FHIR {",
            400, "invalid", "Error during request parsing.", source: "IBM MedicationDispenseHandlerBase.cxx parseBody"),
        row("validationFailed", .inProgress, "POST", dispense, "pharmacy", body: body16, edits: [["\"2026-10-07\"", "\"2026-10-07T10:00:00+02:00\""]],
            400, "invalid", "FHIR-Validation error", source: "A_22073-01; E2E contains ActivateInvalidPatientKvnr; IBM ResourceFactory.cxx errorMessage"),
        row("validationFailed (extension)", .inProgress, "POST", dispense, "pharmacy", body: body16,
            edits: [["\"status\": \"completed\"", "\"extension\": [{\"url\": \"https://erx.invalid/x\", \"valueString\": \"x\"}], \"status\": \"completed\""]],
            400, "invalid", "Unintendierte Verwendung von Extensions an unspezifizierter Stelle", source: "A_22927-03; IBM ResourceFactory.cxx errorMessage"),
        row("legacyDispensationForm", .inProgress, "POST", dispense, "pharmacy", body: "bodies/medicationdispense-legacy-1.3.json",
            400, "invalid", "MedicationDispense in versions 1.4 or later must be provided as Parameters", source: "A_24283-03; IBM MedicationDispenseHandlerBase.cxx"),
        row("prescriptionIDMismatch", .inProgress, "POST", dispense, "pharmacy", body: body16, edits: [["\"{{id}}\"", "\"160.100.000.412.557.91\""]],
            400, "invalid", "Prescription ID in MedicationDispense does not match the one in the task", source: "A_24281-02; IBM MedicationDispenseHandlerBase.cxx"),
        row("kvnrMismatch", .inProgress, "POST", dispense, "pharmacy", body: body16, edits: [["{{kvnr}}", "Y123456789"]],
            400, "invalid", "KVNR in MedicationDispense does not match the one in the task", source: "A_24281-02; IBM MedicationDispenseHandlerBase.cxx"),
        row("telematikIDMismatch", .inProgress, "POST", dispense, "pharmacy", body: body16,
            edits: [["\"{{telematikID}}\"", "\"3-SMC-B-Testkarte-883110000095958\""]],
            400, "invalid", "Telematik-ID in MedicationDispense does not match the one in the access token.", source: "A_24281-02; IBM MedicationDispenseHandlerBase.cxx"),
        row("medicationDispenseProfileNotAllowed", .inProgress, "POST", "/Task/{{id}}/$close?secret={{secret}}", "pharmacy", body: "bodies/close-1.6-diga.json",
            400, "invalid", "Unzulässige Abgabeinformationen: Für diesen Workflow sind nur Abgabeinformationen für Arzneimittel zulässig.",
            source: "A_26002-02; IBM MedicationDispenseOperationParameters.cxx"),
        row("prescriptionIDMismatchInPrescription", .draft, "POST", "/Task/{{id}}/$activate?ac={{accessCode}}", "doctor",
            body: "bodies/prescription-bundle.json", edits: [["\"{{id}}\"", "\"160.100.000.412.557.91\""]],
            400, "invalid", "PrescriptionId mismatch between Task and QES-Bundle", source: "A_21370; IBM ActivateTaskHandler.cxx"),
        // Consent.
        row("consentCategoryMissing", .unknown, "DELETE", "/Consent", "insurant",
            405, "not-supported", "Category must be specified", source: "A_22154; E2E ERP_CONSENT_DELETE_02 (status); IBM ConsentDeleteHandler.cxx"),
        row("objectionNotFound", .unknown, "DELETE", "/Consent?category=medication", "insurant",
            404, "not-found", "Could not find any consent for given KVNR", source: "A_22158; E2E contains ERP_CONSENT_DELETE_04"),
        // Subscription (fd-messaging-transport §2.1, checks in IBM's order).
        row("subscriptionInvalid", .unknown, "POST", "/Subscription", "pharmacy", body: subscription, edits: [["\"reason\": \"none\",", ""]],
            400, "invalid", "Error during request parsing.", source: "IBM SubscriptionPostHandler.cxx"),
        row("subscriptionRecipientMissing", .unknown, "POST", "/Subscription", "pharmacy", body: subscription,
            edits: [["&recipient={{telematikID}}", ""]], 400, "invalid", "Missing recipient", source: "IBM model/Subscription.cxx"),
        row("subscriptionStatusNotSupported", .unknown, "POST", "/Subscription", "pharmacy", body: subscription,
            edits: [["\"status\": \"requested\"", "\"status\": \"active\""]], 400, "invalid", "Request status not supported",
            source: "IBM model/Subscription.cxx"),
        row("subscriptionTelematikIDMissing", .unknown, "POST", "/Subscription", "pharmacyWithoutTelematikID", body: subscription,
            400, "invalid", "No valid Telematik-ID in JWT", source: "IBM SubscriptionPostHandler.cxx"),
        row("subscriptionRecipientMismatch", .unknown, "POST", "/Subscription", "otherPharmacy", body: subscription,
            403, "forbidden", "Identity mismatch: Access token does not match FHIR data (Telematik-ID)",
            source: "A_22363 / IG-TIFLOW-CORE-351 (IG text and SVC_IDENTITY_MISMATCH; IBM: ID mismatch)"),
        // Ours.
        row("expiredMedicationDispensed", .inProgress, "POST", dispense, "pharmacy", body: body16, edits: [["\"2028-03-31\"", "\"2026-10-06\""]],
            422, "business-rule", "Cannot dispense expired medication: the batch expired before it was handed over.",
            source: "ours (ARCHITECTURE decisions 4 and 14, --rules strict)", rules: .strict),
        row("routeNotFound", .unknown, "GET", "/health/foo", "none",
            404, "not-found", "No such resource or operation.", source: "ours (operational namespace)"),
    ]

    @Test(arguments: rows)
    func answerOverHTTP(row: Row) async throws {
        var configured = try await TestServer()
        configured.env.service.rules = row.rules
        let server = configured
        defer { Task { await server.remove() } }
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            for format in [WireFormat.json, .xml] {
                let client = Client(client: client, format: format, server: server)
                let prepared = try await TaskFactory(client: client).prepare(row.task)
                let scenario = ScenarioReplayTests.Scenario(title: row.error, rule: row.source, task: row.task, request: row.request,
                                                            expect: .init(status: row.status))
                let reply = try await ScenarioReplayTests().send(scenario, prepared, client)
                let context = "\(row.error) [\(format)]: \(String(decoding: reply.bytes.prefix(400), as: UTF8.self))"
                #expect(Int(reply.status.code) == row.status, "\(context)")
                let fill = { (text: String) in text.replacingOccurrences(of: "{{mediaType}}", with: client.mediaType) }
                let issues = try reply.resource().children(named: "issue")
                #expect(issues.first?.value(of: "code") == row.code, "\(context)")
                #expect(issues.first?.child("details")?.value(of: "text") == fill(row.text), "\(context)")
                if let more = row.more {
                    #expect(issues.dropFirst().contains { $0.child("details")?.value(of: "text") == more }, "\(context)")
                }
                for (name, value) in row.header {
                    #expect(reply.headers[HTTPField.Name(name)!] == value, "\(context)")
                }
                // A_20703: brute_force only on a credential that was tried and did not match.
                if row.header["VAU-Error-Code"] == nil { #expect(reply.headers[HTTPField.Name("VAU-Error-Code")!] == nil, "\(context)") }
                #expect(reply.headers[.contentType]?.hasSuffix(";charset=utf-8") == true, "\(context)")
            }
        }
    }

    /// `$activate`'s refusals of a prescription's content (fd-parity §8.2 rows 2–14, §8.3): each
    /// answers 400 `invalid` with the FD's text and TI-Flow code. Driven over HTTP on the official
    /// KBV examples in `KBVActivateTests` (which needs `../shared`) and on the domain in
    /// `PrescriptionChecksTests`; here the seam's answer to each, with its source.
    static let activateTexts: [(text: String, tiflow: String?, source: String)] = [
        ("FHIR-Validation error", "SVC_VALIDATION_FAILED", "A_19025-03; E2E exact ERP_TASK_ACTIVATE_INVALID_PZN_03/04, _KVNR_01; IBM ResourceFactory.cxx"),
        ("Unintendierte Verwendung von Extensions an unspezifizierter Stelle", "SVC_VALIDATION_FAILED", "A_22927-03; IBM ResourceFactory.cxx"),
        (PrescriptionChecks.Texts.pznCheckDigit, "TIFLOW_EREZEPT_PZN_INVALID", "A_23892, A_24034; E2E exact ERP_TASK_ACTIVATE_INVALID_PZN_01/02; IBM KbvBundle.cxx"),
        (PrescriptionChecks.Texts.patientSystem, nil, "A_23936-01; IBM KbvBundle.cxx"),
        (PrescriptionChecks.Texts.payorIKNR, nil, "A_23888; E2E contains; IBM KbvBundle.cxx"),
        (PrescriptionChecks.Texts.alternativeIKNR, nil, "A_24030; E2E contains; IBM KbvBundle.cxx"),
        ("Expected exactly one MedicationRequest in Bundle.", nil, "IBM KbvBundle.cxx"),
        ("Expected exactly one Composition in prescription bundle, got: 2", nil, "IBM ActivateTaskHandler.cxx"),
        ("T-Rezept cannot be MVO", nil, "IBM ActivateTaskHandler.cxx"),
        ("T-Rezept Workflow 166 not allowed before KBV-1.4", nil, "fd-parity §8.1; IBM ActivateTaskHandler.cxx"),
        ("MVO-ID entspricht nicht urn:uuid format", "TIFLOW_EREZEPT_MVO_ID_INVALID", "A_24901; IBM ActivateTaskHandler.cxx"),
        ("Ende der Einlösefrist liegt vor Beginn der Einlösefrist", nil, "A_23164; IBM ActivateTaskHandler.cxx"),
        ("Mehrfachverordnungen nur für die Verordnungen von apothekenpflichtigen Arzneimittel zulässig", nil, "A_22627-01; IBM"),
        ("Eine Mehrfachverordnungen darf aus maximal 4 Teilverordnungen bestehen", nil, "A_22628; IBM ActivateTaskHandler.cxx"),
        ("Für eine Mehrfachverordnungen muss der numerator größer 0 sein.", nil, "A_22704; IBM ActivateTaskHandler.cxx"),
        ("Eine Mehrfachverordnung muss aus mindestens 2 Teilverordnungen bestehen", nil, "A_22629; IBM ActivateTaskHandler.cxx"),
        ("Numerator ist größer als denominator", nil, "A_22630; IBM ActivateTaskHandler.cxx"),
        ("Für Ersatzverordnung sind keine Mehrfachverordnungen zulässig", nil, "A_22633; IBM ActivateTaskHandler.cxx"),
        ("Für Entlassrezepte sind keine Mehrfachverordnungen zulässig", nil, "A_22632; IBM ActivateTaskHandler.cxx"),
        ("Beginn der Einlösefrist für MVO ist erforderlich", nil, "A_22634; IBM ActivateTaskHandler.cxx"),
        ("Einlösefrist liegt zeitlich vor dem Ausstellungsdatum", nil, "A_23537; IBM ActivateTaskHandler.cxx"),
        ("Nummerierung darf nur bei MVO angegeben werden", nil, "A_22631; IBM ActivateTaskHandler.cxx"),
        ("Zeitraum darf nur bei MVO angegeben werden", nil, "A_22631; IBM ActivateTaskHandler.cxx"),
        (PrescriptionChecks.Texts.btm, "TIFLOW_EREZEPT_DRUG_CATEGORY_FORBIDDEN", "A_22231-01; IBM ActivateTaskHandler.cxx"),
        (PrescriptionChecks.Texts.medicinesOnly, "TIFLOW_FLOWTYPE_MISMATCH", "A_25642; IBM ActivateTaskHandler.cxx"),
        (PrescriptionChecks.Texts.tPrescriptionsOnly, "TIFLOW_FLOWTYPE_MISMATCH", "A_27813; IBM ActivateTaskHandler.cxx"),
        ("Error while extracting prescriptionId from QES-Bundle", nil, "IBM ActivateTaskHandler.cxx"),
        (PrescriptionChecks.Texts.flowTypeMismatch, nil, "A_21370; IBM ActivateTaskHandler.cxx"),
        (PrescriptionChecks.Texts.signingDay, nil, "A_22487; IBM ActivateTaskHandler.cxx"),
        (PrescriptionChecks.Texts.coverageCount, nil, "IBM ActivateTaskHandler.cxx"),
        (PrescriptionChecks.Texts.pkvNotAllowed, "TIFLOW_COVERAGE_TYPE_MISMATCH", "A_23443-01; E2E status only; IBM ActivateTaskHandler.cxx"),
        (PrescriptionChecks.Texts.pkvRequired, "TIFLOW_COVERAGE_TYPE_MISMATCH", "A_22347-01; E2E status only; IBM ActivateTaskHandler.cxx"),
        (PrescriptionChecks.Texts.invalidPractitionerNumber, nil, "A_24032 (error mode; production mode warns with 252, A_24033); IBM ActivateTaskHandler.cxx"),
        ("Expected exactly one Patient in prescription bundle, got: 2", nil, "IBM ActivateTaskHandler.cxx"),
        // DiGA (162): IBM EvdgaBundle::additionalValidation.
        (PrescriptionChecks.Texts.accidentInsurerDiGA, nil, "A_26372; IBM EvdgaBundle.cxx"),
        ("Expected exactly one Coverage resource", nil, "IBM EvdgaBundle.cxx"),
        ("Expected exactly one DeviceRequest resource", nil, "IBM EvdgaBundle.cxx"),
        (PrescriptionChecks.Texts.kvnrCheckDigit, nil, "A_23890-01; E2E exact; IBM ActivateTaskHandler.cxx"),
    ]

    @Test func activateRefusalsAnswerWithTheFDsText() {
        for row in Self.activateTexts {
            let answer = ErrorSeam.answer(for: DispensingError.prescriptionRefused(.init(.content, text: row.text, detailCode: row.tiflow)))
            #expect(answer.status == .badRequest, "\(row.source)")
            #expect(answer.outcome.issues.first?.code == .invalid && answer.outcome.issues.first?.text == row.text, "\(row.source)")
            #expect(answer.outcome.issues.first?.detailCode?.code == row.tiflow, "\(row.source)")
            #expect(answer.headers[HTTPField.Name("VAU-Error-Code")!] == nil, "\(row.source)")
        }
        // The LANR/ZANR warning of the production mode (A_24033; fd-parity §7.5).
        #expect(PrescriptionChecks.Texts.invalidPractitionerNumber
            == "Ungültige Arztnummer (LANR oder ZANR): Die übergebene Arztnummer entspricht nicht den Prüfziffer-Validierungsregeln.")
    }

    /// Answers no request reaches cheaply: the expiry date in German form, the role text of a flow
    /// type's profession check, the fixed 500.
    @Test func answersWithoutARequest() {
        let expired = ErrorSeam.answer(for: DispensingError.prescriptionExpired(expiryDate: "2026-12-31"))
        #expect(expired.status == .forbidden && expired.outcome.issues.first?.text == "Verordnung bis 31.12.2026 einlösbar.")  // A_23539-01
        let mvo = ErrorSeam.answer(for: DispensingError.multiplePrescriptionNotYetRedeemable(mvoID: "urn:uuid:24e2e10d-e962-4d1c-be4f-8760e690a5f0", start: "2099-04-01"))
        #expect(mvo.status == .forbidden
            && mvo.outcome.issues.first?.text == "Teilverordnung zur Mehrfachverordnung urn:uuid:24e2e10d-e962-4d1c-be4f-8760e690a5f0 ist ab 01.04.2099 einlösbar.")  // A_22635-02; IBM TaskHandler.cxx
        let role = ErrorSeam.answer(for: DispensingError.professionNotAllowedForFlowType, caller: Caller(profession: .hospitalPharmacy))
        #expect(role.outcome.issues.first?.text == "endpoint is forbidden for professionOID 1.2.276.0.76.4.55")  // A_19166-02
        let diga = ErrorSeam.answer(for: DispensingError.healthAppDispenseRequired(expression: "Parameters.parameter[0].part[0].resource.meta.profile"))
        #expect(diga.status == .badRequest && diga.outcome.issues.first?.text  // A_26003-01; IBM MedicationDispenseOperationParameters.cxx
            == "Unzulässige Abgabeinformationen: Für diesen Workflow sind nur Abgabeinformationen für digitale Gesundheitsanwendungen zulässig.")
        #expect(ErrorSeam.internalError().outcome.issues.first?.text == "Internal server error.")  // IBM VauRequestHandler.cxx
        let expiredToken = ErrorSeam.answer(for: RequestError.unauthenticated(.expired))
        #expect(expiredToken.outcome.issues.first?.text == "JWT expired")  // A_20373
        #expect(expiredToken.headers[.wwwAuthenticate] == Self.invalidChallenge)
    }

    /// fd-parity §7.4: the FD's status → issue code map, every status it names and a few it does not.
    @Test(arguments: [
        (400, "invalid"), (401, "unknown"), (403, "forbidden"), (423, "forbidden"), (404, "not-found"), (405, "not-supported"),
        (409, "conflict"), (410, "processing"), (415, "value"), (429, "transient"), (406, "processing"), (412, "processing"),
        (500, "processing"), (503, "processing"),
    ])
    func statusToIssueCode(status: Int, code: String) {
        #expect(ErrorSeam.issueCode(for: HTTPResponse.Status(code: status)).rawValue == code)
    }
}
