import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import FHIRValidation
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Issue 20, item 9: every answer is valid. The whole workflow over HTTP, in JSON and in XML, and a
/// selection of error answers; every resource erx returns, and every resource in a returned Bundle's
/// entries, validates against the profile it claims (R4 core's definition of its type when it claims
/// none) with the official packages of `../shared/fixtures/definitions` (``AnswerValidator``).
///
/// Where the profiles decide what fd-parity.md leaves open or words otherwise (the profile wins):
/// - `GEM_ERP_PR_Binary` fixes `contentType` to `application/pkcs7-mime`, so a prescription accepted
///   unsigned (fd-parity §2.3: "an erx decision") goes out in a CMS of the development signer.
/// - `GEM_ERP_PR_Task|1.6` binds the PrescriptionType coding to workflow 1.6's FlowType code system,
///   whose displays ("Flowtype für …") replaced workflow 1.2's "Muster 16 (…)".
/// - The receipt's Device keeps id `1` under a `urn:uuid:` fullUrl (fd-parity §3.1, gematik's own IG
///   example): R4 allows it; the HL7 validator's stricter fullUrl/id check would not.
/// - The test prescription (`Bodies.prescription`) claims no KBV profile, so the patient confirmation
///   made from it is held to R4 core; a real KBV example is held to `KBV_PR_ERP_Bundle|1.3` (the KBV
///   packages are in `../shared`) by ``thePatientConfirmationOfAKBVBundleStaysValid(format:)``.
@Suite(.enabled(if: AnswerValidator.packagesAvailable, "../shared/fixtures/definitions is absent: answers not validated"))
struct EveryAnswerValidTests {
    static let formats: [WireFormat] = [.json, .xml]

    /// The callers of one run, with the checks bound to its format and tally.
    struct Run {
        let client: Client
        let factory: TaskFactory
        let insurant: String
        let representative: String
        let tally: AnswerValidator.Tally

        var doctor: String { factory.doctor }
        var pharmacy: String { factory.pharmacy }

        @discardableResult
        func call(_ method: HTTPRequest.Method, _ uri: String, as token: String, body: Element? = nil, headers: HTTPFields = [:],
                  route: String, _ status: HTTPResponse.Status, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Element? {
            let reply = try await client.send(method, uri, token: token, body: body, headers: headers)
            return try AnswerValidator.check(reply, route: "\(client.format) \(route)", status: status, tally: tally, sourceLocation: sourceLocation)
        }
    }

    func withRun(_ format: WireFormat, _ body: @escaping @Sendable (Run) async throws -> Void) async throws {
        await AnswerValidator.loaded()
        var configured = try await TestServer()
        if AnswerValidator.packagesAvailable {
            // `$activate` validates KBV bundles as in production: our profiles and the official packages.
            configured.env.prescriptionValidation = PrescriptionValidation(validator: AnswerValidator.validator, windows: ProfileVersionWindows(windows: []))
        }
        let server = configured
        defer { Task { await server.remove() } }
        try await Application(router: server.router).test(.router) { client in
            let client = Client(client: client, format: format, server: server)
            let insurant = try await server.key.token(profession: Profession.insurant.rawValue, idNummer: TestServer.kvnr, name: "Erika Mustermann")
            let representative = try await server.key.token(profession: Profession.insurant.rawValue, idNummer: "Y123456789", name: "Max Vertreter")
            try await body(Run(client: client, factory: try await TaskFactory(client: client), insurant: insurant,
                               representative: representative, tally: AnswerValidator.Tally()))
        }
    }

    static func identifier(_ task: Element?, _ system: String) -> String {
        task?.children(named: "identifier").first { $0.value(of: "system") == system }?.value(of: "value") ?? ""
    }

    /// `$create` → `$activate` → reads → `$accept` → `$dispense` (three answers) → `$close` → reads,
    /// searches, `/Device`, `/metadata`, `$reject`, `$abort`, `/Consent`. A_21375-02 (insurant read),
    /// A_19233-06 (receipt), A_19296-04 (AuditEvent), A_24443-01 (searchsets), A_20744 (Device),
    /// A_20171 (CapabilityStatement).
    @Test(arguments: formats)
    func everyWorkflowAnswerValidates(format: WireFormat) async throws {
        try await withRun(format) { run in
            let task = try #require(try await run.call(.post, "/Task/$create", as: run.doctor, body: Bodies.createParameters(),
                                                      route: "POST /Task/$create", .created))
            let id = task.value(of: "id") ?? ""
            let accessCode = Self.identifier(task, Systems.accessCode)
            try await run.call(.post, "/Task/\(id)/$activate?ac=\(accessCode)", as: run.doctor,
                               body: Bodies.prescription(id: id, authoredOn: "2026-10-01"), route: "POST /Task/{id}/$activate", .ok)

            // A_21375-02, A_19569-03: the Task, the signed patient confirmation and the AuditEvents.
            try await run.call(.get, "/Task/\(id)?_revinclude=AuditEvent:entity.what", as: run.insurant, headers: [.acceptLanguage: "de"],
                               route: "GET /Task/{id}?_revinclude=AuditEvent:entity.what (insurant)", .ok)
            try await run.call(.get, "/Task/\(id)", as: run.representative, headers: [HTTPField.Name("X-AccessCode")!: accessCode],
                               route: "GET /Task/{id} (representative, X-AccessCode)", .ok)

            let accepted = try await run.call(.post, "/Task/\(id)/$accept?ac=\(accessCode)", as: run.pharmacy,
                                              route: "POST /Task/{id}/$accept", .ok)
            let secret = Self.identifier(accepted?.child("entry")?.child("resource")?.wrappedResource, Systems.secret)
            try await run.call(.get, "/Task/\(id)?ac=\(accessCode)", as: run.pharmacy, route: "GET /Task/{id}?ac= (pharmacy)", .ok)
            try await run.call(.get, "/Task/\(id)?secret=\(secret)", as: run.pharmacy, route: "GET /Task/{id}?secret= (in-progress)", .ok)

            let dispense = "/Task/\(id)/$dispense?secret=\(secret)"
            let body = try Bodies.dispense(id: id, count: 1)
            try await run.call(.post, dispense, as: run.pharmacy, body: body, route: "POST /Task/{id}/$dispense", .noContent)
            try await run.call(.post, dispense, as: run.pharmacy, body: body, headers: [HTTPField.Name("Prefer")!: "return=representation"],
                               route: "POST /Task/{id}/$dispense (Prefer: return=representation)", .ok)
            try await run.call(.post, dispense, as: run.pharmacy, body: body, headers: [HTTPField.Name("Prefer")!: "return=OperationOutcome"],
                               route: "POST /Task/{id}/$dispense (Prefer: return=OperationOutcome)", .ok)
            // A_24443-01: the MedicationDispense searchset (total 0, no links).
            try await run.call(.get, "/MedicationDispense", as: run.insurant, route: "GET /MedicationDispense", .ok)

            // A_19233-06: the receipt, at $close and when fetched again with the Secret.
            try await run.call(.post, "/Task/\(id)/$close?secret=\(secret)", as: run.pharmacy, route: "POST /Task/{id}/$close", .ok)
            try await run.call(.get, "/Task/\(id)?secret=\(secret)", as: run.pharmacy, route: "GET /Task/{id}?secret= (completed)", .ok)
            try await run.call(.get, "/Task/\(id)", as: run.insurant, route: "GET /Task/{id} (insurant, completed)", .ok)

            // $reject and $abort answer 204; the tasks they leave are read and listed below.
            let rejected = try await run.factory.prepare(.inProgress)
            try await run.call(.post, "/Task/\(rejected.id)/$reject?secret=\(rejected.secret)", as: run.pharmacy,
                               route: "POST /Task/{id}/$reject", .noContent)
            let aborted = try await run.factory.prepare(.ready)
            try await run.call(.post, "/Task/\(aborted.id)/$abort?ac=\(aborted.accessCode)", as: run.doctor,
                               route: "POST /Task/{id}/$abort", .noContent)
            _ = try await run.factory.prepare(.ready, flowType: 169)

            // A_24443-01: the insurant's Task search, paged, and the AuditEvent search.
            try await run.call(.get, "/Task?_count=2&__offset=1", as: run.insurant, route: "GET /Task?_count=2&__offset=1", .ok)
            try await run.call(.get, "/Task", as: run.insurant, route: "GET /Task", .ok)
            // Every event of the run (each kind of TAB_eRPFD_004 text), then a page with its links.
            let events = try await run.call(.get, "/AuditEvent", as: run.insurant, headers: [.acceptLanguage: "de"],
                                            route: "GET /AuditEvent", .ok)
            try await run.call(.get, "/AuditEvent?_count=5&__offset=5&_sort=-date", as: run.insurant, headers: [.acceptLanguage: "en"],
                               route: "GET /AuditEvent?_count=5&__offset=5&_sort=-date", .ok)
            let eventID = try #require(events?.child("entry")?.child("resource")?.wrappedResource?.value(of: "id"))
            try await run.call(.get, "/AuditEvent/\(eventID)", as: run.insurant, route: "GET /AuditEvent/{id}", .ok)

            try await run.call(.get, "/Device", as: run.pharmacy, route: "GET /Device", .ok)
            try await run.call(.get, "/metadata", as: run.pharmacy, route: "GET /metadata", .ok)

            try await run.call(.post, "/Consent", as: run.insurant, body: ObjectionTests.consent(kvnr: TestServer.kvnr, category: "medication"),
                               route: "POST /Consent", .created)
            try await run.call(.get, "/Consent", as: run.insurant, route: "GET /Consent", .ok)

            Self.expectCoverage(run.tally)
        }
    }

    /// The Task of every flow type the server runs, as `$create` answers it: its `GEM_ERP_EX_PrescriptionType`
    /// and `performerType` codings carry the displays of workflow 1.6's code systems.
    @Test(arguments: formats)
    func everyFlowTypesTaskValidates(format: WireFormat) async throws {
        try await withRun(format) { run in
            for flowType in FlowType.supported.sorted(by: { $0.rawValue < $1.rawValue }) {
                let task = try await run.call(.post, "/Task/$create", as: run.doctor, body: Bodies.createParameters(flowType: flowType.rawValue),
                                              route: "POST /Task/$create (\(flowType.rawValue))", .created)
                #expect(task?.child("extension")?.descendant("valueCoding", "display")?.value == flowType.display)
            }
        }
    }

    /// A_19029-06, A_21375-02: the insurant's copy of a real KBV bundle (an example of kbv.ita.erp 1.3.2
    /// from `../shared`, made out for the task) stays a valid `KBV_PR_ERP_Bundle|1.3` with the server's id
    /// and signature, in both formats.
    @Test(arguments: formats)
    func thePatientConfirmationOfAKBVBundleStaysValid(format: WireFormat) async throws {
        let example = AnswerValidator.definitions.deletingLastPathComponent()
            .appendingPathComponent("conformance/bundle/kbv1.3.2-Beispiel_1_PZN.json")
        try await withRun(format) { run in
            let created = try #require(try await run.call(.post, "/Task/$create", as: run.doctor, body: Bodies.createParameters(),
                                                         route: "POST /Task/$create", .created))
            let id = created.value(of: "id") ?? ""
            let text = try String(contentsOf: example, encoding: .utf8).replacingOccurrences(of: "160.100.000.000.006.24", with: id)
            let bundle = try FHIRFormat.json.read(Array(text.utf8)).resource
            #expect(!AnswerValidator.validator.validate(bundle).hasErrors, "the example itself must be valid")
            try await run.call(.post, "/Task/\(id)/$activate?ac=\(Self.identifier(created, Systems.accessCode))", as: run.doctor, body: bundle,
                               route: "POST /Task/{id}/$activate (KBV bundle)", .ok)
            let insurant = try await run.client.server.key.token(profession: Profession.insurant.rawValue, idNummer: "K220635158", name: "Ludger Königsstein")
            let answer = try await run.call(.get, "/Task/\(id)", as: insurant, route: "GET /Task/{id} (insurant, KBV bundle)", .ok)
            #expect(run.tally.validated.contains("https://fhir.kbv.de/StructureDefinition/KBV_PR_ERP_Bundle|1.3"))
            #expect(answer?.children(named: "entry").last?.child("resource")?.wrappedResource?.child("signature") != nil)
        }
    }

    /// Error answers are OperationOutcomes, valid against R4 core, whatever the status (fd-parity §7.4).
    @Test(arguments: formats)
    func everyErrorAnswerValidates(format: WireFormat) async throws {
        try await withRun(format) { run in
            let ready = try await run.factory.prepare(.ready)
            let accepted = try await run.factory.prepare(.inProgress)
            let cancelled = try await run.factory.prepare(.cancelled)
            let unknown = try await run.factory.prepare(.unknown)
            func outcome(_ method: HTTPRequest.Method, _ uri: String, as token: String, body: Element? = nil, headers: HTTPFields = [:],
                         route: String, _ status: HTTPResponse.Status, sourceLocation: SourceLocation = #_sourceLocation) async throws {
                let answer = try await run.call(method, uri, as: token, body: body, headers: headers, route: route, status,
                                                sourceLocation: sourceLocation)
                #expect(answer?.name == "OperationOutcome", "\(route)", sourceLocation: sourceLocation)
            }
            try await outcome(.get, "/Task?_count=0", as: run.insurant, route: "400 GET /Task?_count=0", .badRequest)
            try await outcome(.get, "/AuditEvent", as: run.pharmacy, route: "403 GET /AuditEvent (pharmacy)", .forbidden)
            try await outcome(.get, "/Task/\(unknown.id)", as: run.insurant, route: "404 GET /Task/{unknown}", .notFound)
            try await outcome(.get, "/MedicationDispense/\(UUID().uuidString.lowercased())", as: run.insurant,
                              route: "405 GET /MedicationDispense/{id}", .methodNotAllowed)
            try await outcome(.get, "/Task?_format=text/html", as: run.insurant, route: "406 GET /Task?_format=text/html", .notAcceptable)
            try await outcome(.post, "/Task/\(accepted.id)/$accept?ac=\(accepted.accessCode)", as: run.pharmacy,
                              route: "409 POST /Task/{in-progress}/$accept", .conflict)
            try await outcome(.get, "/Task/\(cancelled.id)", as: run.insurant, route: "410 GET /Task/{cancelled}", .gone)
            try await outcome(.get, "/Task/\(ready.id)?ac=\(ready.accessCode)", as: run.pharmacy, route: "412 GET /Task/{ready}?ac=",
                              .preconditionFailed)
            try await outcome(.post, "/Task/\(accepted.id)/$dispense?secret=\(accepted.secret)", as: run.pharmacy,
                              body: try Bodies.dispense(id: accepted.id, count: 1), headers: [.contentType: "text/plain"],
                              route: "415 POST /Task/{id}/$dispense (text/plain)", .unsupportedMediaType)
            // ARCHITECTURE decision 5: after the insurant's objection, $dispense is locked.
            try await run.call(.post, "/Consent", as: run.insurant, body: ObjectionTests.consent(kvnr: TestServer.kvnr, category: "erp-submission"),
                               route: "POST /Consent", .created)
            try await outcome(.post, "/Task/\(accepted.id)/$dispense?secret=\(accepted.secret)", as: run.pharmacy,
                              body: try Bodies.dispense(id: accepted.id, count: 1), route: "423 POST /Task/{id}/$dispense (objected)",
                              HTTPResponse.Status(code: 423))
        }
    }

    /// The profiles the workflow run must have validated, so a route that stops answering a resource
    /// (or answers it without its profile) cannot pass unnoticed.
    static func expectCoverage(_ tally: AnswerValidator.Tally, sourceLocation: SourceLocation = #_sourceLocation) {
        let gematik = "https://gematik.de/fhir/erp/StructureDefinition/"
        let core = "http://hl7.org/fhir/StructureDefinition/"
        let expected: Set<String> = [
            gematik + "GEM_ERP_PR_Task|1.6", gematik + "GEM_ERP_PR_Binary|1.6", gematik + "GEM_ERP_PR_Bundle|1.6",
            gematik + "GEM_ERP_PR_Composition|1.6", gematik + "GEM_ERP_PR_Device|1.6", gematik + "GEM_ERP_PR_Digest|1.6",
            gematik + "GEM_ERP_PR_AuditEvent|1.6", gematik + "GEM_ERP_PR_MedicationDispense|1.6", gematik + "GEM_ERP_PR_Medication|1.6",
            core + "Bundle", core + "OperationOutcome", core + "CapabilityStatement", core + "Consent",
        ]
        let missing = expected.subtracting(tally.validated)
        #expect(missing.isEmpty, "not validated: \(missing.sorted())", sourceLocation: sourceLocation)
    }

    /// The checks have teeth: what erx answered before (the prescription Binary as
    /// `application/fhir+json`; `Task.performerType` in the `urn:ietf:rfc:3986` system) is an error
    /// against the official profiles, found where it sits.
    @Test func formerAnswersAreCaught() async throws {
        try await withRun(.json) { run in
            let prepared = try await run.factory.prepare(.inProgress)
            let reply = try await run.client.send(.get, "/Task/\(prepared.id)?ac=\(prepared.accessCode)", token: run.pharmacy)
            let bundle = try reply.resource()
            #expect(!AnswerValidator.validator.validate(bundle).hasErrors)
            func errors(_ edit: (inout Element) -> Void) -> [String] {
                var copy = bundle
                edit(&copy)
                return AnswerValidator.validator.validate(copy).issues.filter { $0.severity == .error }.compactMap(\.expression.first)
            }
            /// `entry[index].resource.<resource>.<name>[0].…path` set to `value`.
            func setting(_ index: Int, _ path: [String], to value: String) -> (inout Element) -> Void {
                { bundle in
                    let entry = bundle.children.indices.filter { bundle.children[$0].name == "entry" }[index]
                    func set(_ element: inout Element, _ rest: ArraySlice<String>) {
                        guard let name = rest.first else { return element.value = value }
                        let child = element.children.firstIndex { $0.name == name }!
                        set(&element.children[child], rest.dropFirst())
                    }
                    set(&bundle.children[entry], ["resource", bundle.children[entry].child("resource")!.children[0].name] + path)
                }
            }
            #expect(errors(setting(1, ["contentType"], to: "application/fhir+json")) == ["Bundle.entry[1].resource.contentType"])
            #expect(errors(setting(0, ["performerType", "coding", "system"], to: "urn:ietf:rfc:3986"))
                == ["Bundle.entry[0].resource.performerType[0].coding[0]"])
        }
    }
}
