import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import StoreTestSupport
import Testing

/// The FD's refusals around flow type 162 (DiGA), over real HTTP in JSON and XML, each with its
/// requirement: who may take which flow, the dispense profile per flow, and the `$activate` checks
/// of a DiGA prescription. Every refusal is an OperationOutcome valid against R4.
@Suite struct DiGARefusalTests {
    typealias Flow = DiGAFlowTests

    static func expectRefusal(_ reply: Reply, _ status: HTTPResponse.Status, _ text: String, code: String? = nil, diagnostics: String? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let context = Flow.text(reply)
        #expect(reply.status == status, "\(context)", sourceLocation: sourceLocation)
        let outcome = try reply.resource()
        AnswerValidator.validate(outcome, route: "refusal", tally: AnswerValidator.Tally(), sourceLocation: sourceLocation)
        let issue = outcome.child("issue")
        #expect(issue?.child("details")?.value(of: "text") == text, "\(context)", sourceLocation: sourceLocation)
        if let code { #expect(issue?.descendant("details", "coding", "code")?.value == code, "\(context)", sourceLocation: sourceLocation) }
        if let diagnostics { #expect(issue?.value(of: "diagnostics")?.contains(diagnostics) == true, "\(context)", sourceLocation: sourceLocation) }
    }

    static func forbidden(_ profession: Profession) -> String { "endpoint is forbidden for professionOID \(profession.rawValue)" }

    /// A_19166-02 (160/169/200/209: pharmacies) and A_25993 (162: insurers), as IBM registers `$accept`
    /// by flow: the other role gets 403 before the handler, whatever the AccessCode. A_24279: `$dispense`
    /// stays the pharmacies' also for 162.
    @Test(arguments: [WireFormat.json, .xml])
    func eachFlowIsTakenByItsRole(format: WireFormat) async throws {
        try await Flow.live(.sqlite, format) { client, _, parties in
            let (diga, activated) = try await Flow.activate(client, by: parties.doctor)
            #expect(activated.status == .ok, "\(Flow.text(activated))")
            let byPharmacy = try await client.send(.post, "/Task/\(diga.id)/$accept?ac=\(diga.accessCode)", token: parties.pharmacy)
            try Self.expectRefusal(byPharmacy, .forbidden, Self.forbidden(.publicPharmacy), code: "TIFLOW_AUTH_ROLE_NOT_ALLOWED")
            let medicine = try await TaskFactory(client: client).prepare(.ready)
            let byInsurer = try await client.send(.post, "/Task/\(medicine.id)/$accept?ac=\(medicine.accessCode)", token: parties.insurer)
            try Self.expectRefusal(byInsurer, .forbidden, Self.forbidden(.insurer), code: "TIFLOW_AUTH_ROLE_NOT_ALLOWED")

            let accepted = try await client.send(.post, "/Task/\(diga.id)/$accept?ac=\(diga.accessCode)", token: parties.insurer)
            #expect(accepted.status == .ok, "\(Flow.text(accepted))")
            let secret = try #require(try accepted.resource().child("entry")?.child("resource")?.wrappedResource?
                .children(named: "identifier").first { $0.value(of: "system") == Systems.secret }?.value(of: "value"))
            let dispense = try await client.send(.post, "/Task/\(diga.id)/$dispense?secret=\(secret)", token: parties.insurer,
                                                 body: try Flow.closeBody(id: diga.id, format: format))
            try Self.expectRefusal(dispense, .forbidden, Self.forbidden(.insurer), code: "TIFLOW_AUTH_ROLE_NOT_ALLOWED")
            // The insurer gives it back (A_19170-02 admits insurers), and may take it again.
            let rejected = try await client.send(.post, "/Task/\(diga.id)/$reject?secret=\(secret)", token: parties.insurer)
            #expect(rejected.status == .noContent, "\(Flow.text(rejected))")
            let again = try await client.send(.post, "/Task/\(diga.id)/$accept?ac=\(diga.accessCode)", token: parties.insurer)
            #expect(again.status == .ok)
        }
    }

    /// A_26003-01: closing a DiGA with a medicine's MedicationDispense; A_26002-02: the pharmacy flows
    /// refuse the DiGA profile (the other direction).
    @Test(arguments: [WireFormat.json, .xml])
    func theDispenseProfileFollowsTheFlow(format: WireFormat) async throws {
        try await Flow.live(.sqlite, format) { client, _, parties in
            let (diga, _) = try await Flow.activate(client, by: parties.doctor)
            let accepted = try await client.send(.post, "/Task/\(diga.id)/$accept?ac=\(diga.accessCode)", token: parties.insurer)
            let secret = try #require(try accepted.resource().child("entry")?.child("resource")?.wrappedResource?
                .children(named: "identifier").first { $0.value(of: "system") == Systems.secret }?.value(of: "value"))
            let medicineBody = try Flow.closeBody(Flow.closeMedicine, id: diga.id, format: format, performer: Flow.insurerTelematikID)
            let closed = try await client.send(.post, "/Task/\(diga.id)/$close?secret=\(secret)", token: parties.insurer, body: medicineBody)
            try Self.expectRefusal(closed, .badRequest,
                                   "Unzulässige Abgabeinformationen: Für diesen Workflow sind nur Abgabeinformationen für digitale Gesundheitsanwendungen zulässig.",
                                   code: "TIFLOW_INVALID_MEDICATION_DISPENSE")
            #expect(closed.headers[HTTPField.Name("Diga-Redeem-Code")!] == nil)

            let factory = try await TaskFactory(client: client)
            let medicine = try await factory.prepare(.inProgress, kvnr: HealthAppPrescriptions.kvnr)
            let refused = try await client.send(.post, "/Task/\(medicine.id)/$close?secret=\(medicine.secret)", token: factory.pharmacy,
                                                body: Flow.closeBody(id: medicine.id, format: format, performer: TestServer.pharmacyTelematikID))
            try Self.expectRefusal(refused, .badRequest,
                                   "Unzulässige Abgabeinformationen: Für diesen Workflow sind nur Abgabeinformationen für Arzneimittel zulässig.",
                                   code: "TIFLOW_INVALID_MEDICATION_DISPENSE")
        }
    }

    struct Row: Sendable, CustomStringConvertible {
        let name: String
        var flowType = 162
        var edits: [(String, String)] = []
        let text: String
        var code: String?
        var diagnostics: String?
        var description: String { name }
    }

    static let validationFailed = "FHIR-Validation error"
    static let rows: [Row] = [
        Row(name: "A_25992 PZN check digit of the app", edits: [(HealthAppPrescriptions.pzn, "17946627")],
            text: PrescriptionChecks.Texts.pznCheckDigit, code: "TIFLOW_EREZEPT_PZN_INVALID"),
        // evDGA's own invariant finds a PKV coverage before the FD's check (A_23443-01; its text on the domain).
        Row(name: "A_23443-01 PKV coverage (the profile's -evdga-angabePrivateKrankenversicherungVerbot)",
            edits: [(#"<code value="GKV" />"#, #"<code value="PKV" />"#)], text: validationFailed, code: "SVC_VALIDATION_FAILED",
            diagnostics: "-evdga-angabePrivateKrankenversicherungVerbot"),
        Row(name: "A_23890-01 KVNR check digit", edits: [(HealthAppPrescriptions.kvnr, "K220635159")], text: PrescriptionChecks.Texts.kvnrCheckDigit),
        Row(name: "A_19025-03 evDGA profile validation", edits: [(#"<intent value="order" />"#, #"<intent value="plan" />"#)],
            text: validationFailed, code: "SVC_VALIDATION_FAILED"),
        Row(name: "A_19025-03 a medicine flow takes no evDGA bundle", flowType: 160, text: validationFailed, code: "SVC_VALIDATION_FAILED",
            diagnostics: "KBV_PR_ERP_Bundle"),
    ]

    /// `$activate` of a DiGA prescription: the FD's checks in its order (IBM `ActivateTaskHandler::handleDigaRequest`).
    @Test(.serialized, arguments: rows)
    func activateRefusals(row: Row) async throws {
        for format in [WireFormat.json, .xml] {
            try await Flow.live(.sqlite, format) { client, _, parties in
                let (_, reply) = try await Flow.activate(client, by: parties.doctor, flowType: row.flowType, edits: row.edits)
                try Self.expectRefusal(reply, .badRequest, row.text, code: row.code, diagnostics: row.diagnostics)
            }
        }
    }

    /// A DiGA task takes no medicine prescription (IBM reads its body as `EvdgaBundle`).
    @Test(arguments: [WireFormat.json, .xml])
    func aDiGATakesNoMedicinePrescription(format: WireFormat) async throws {
        try await Flow.live(.sqlite, format) { client, _, parties in
            let factory = try await TaskFactory(client: client)
            let task = try await factory.prepare(.draft, flowType: 162)
            let medicine = try KBVExamples.bundle(KBVActivateTests.pzn)
            let body = try KBVExamples.parameters(KBVExamples.withID(medicine, task.id), format: format.fhirFormat)
            let reply = try await client.send(.post, "/Task/\(task.id)/$activate?ac=\(task.accessCode)", token: parties.doctor, body: body)
            try Self.expectRefusal(reply, .badRequest, Self.validationFailed, code: "SVC_VALIDATION_FAILED", diagnostics: "KBV_PR_EVDGA_Bundle")
        }
    }
}
