import Dispensing
import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRServer
import FHIRValidation
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Issue 22: `$activate` validates the KBV bundle and runs the FD's content checks (fd-parity.md §8),
/// over a real socket in JSON and XML, on official KBV examples (edited where a check needs it) read
/// from `../shared` with the official packages; skipped without `../shared`.
@Suite struct KBVActivateTests {
    static let pzn = "conformance/bundle/kbv1.3.2-Beispiel_1_PZN.xml"
    static let mvo = "conformance/bundle/kbv1.3.2-Beispiel_21_1_MVO.xml"
    static let compounding = "conformance/bundle/kbv1.3.2-Beispiel_24_Rezepturverordnung_SEL.xml"
    static let accident = "conformance/bundle/kbv1.3.2-Beispiel_4_Unfall.xml"
    static let pkv = "conformance/bundle/kbv1.3.2-Beispiel_3_PKV.xml"
    static let kbv12 = "conformance/bundle/kbv1.2.0-Beispiel_1.xml"
    static let validationFailed = "FHIR-Validation error"
    /// KBV's PKV example gives the payor IKNR 123456789 and the KVNR P123464113, whose check digits
    /// are wrong (A_23888, A_23890-01): corrected where the example serves another check.
    static let pkvFixed = [("123456789", "123456780"), ("P123464113", "P123464117")]

    struct Row: Sendable, CustomStringConvertible {
        let name: String
        let file: String
        var edits: [(String, String)] = []
        /// The task's flow type; `nil`: the example's.
        var flowType: Int?
        /// The bundle's PrescriptionID; `nil`: the task's.
        var bundleID: String?
        var status = 400
        var text: String?
        var code: String?
        /// A part of `diagnostics`.
        var diagnostics: String?
        var description: String { name }
    }

    static let rows: [Row] = [
        Row(name: "passes every check", file: pzn, status: 200),
        Row(name: "A_19025-03 profile validation", file: pzn, edits: [(#"<type value="document" />"#, #"<type value="collection" />"#)],
            text: validationFailed, code: "SVC_VALIDATION_FAILED"),
        // A closed slicing (MedicationRequest.extension) is a plain validation error at the FD too
        // (IBM SlicingChecker: only an open slicing reports an unsliced extension).
        Row(name: "A_19025-03 extension in a closed slicing", file: pzn,
            edits: [(#"<extension url="https://fhir.kbv.de/StructureDefinition/KBV_EX_FOR_StatusCoPayment">"#,
                     #"<extension url="https://erx.invalid/x"><valueString value="x" /></extension><extension url="https://fhir.kbv.de/StructureDefinition/KBV_EX_FOR_StatusCoPayment">"#)],
            text: validationFailed, code: "SVC_VALIDATION_FAILED", diagnostics: "the slicing is closed"),
        Row(name: "A_22927-03 unsliced extension", file: pzn,
            edits: [(#"KBV_PR_FOR_Patient|1.2" /></meta>"#, #"KBV_PR_FOR_Patient|1.2" /></meta><extension url="https://erx.invalid/x"><valueString value="x" /></extension>"#)],
            text: "Unintendierte Verwendung von Extensions an unspezifizierter Stelle", code: "SVC_VALIDATION_FAILED"),
        Row(name: "A_19025-03 profile unknown (KBV 1.2)", file: kbv12, text: validationFailed, diagnostics: "profile unknown"),
        Row(name: "A_22925 PZN length 7", file: pzn, edits: [("00814665", "0081466")], text: validationFailed,
            diagnostics: "Länge PZN unzulässig (muss 8-stellig sein)"),
        Row(name: "A_22925 PZN length 9", file: pzn, edits: [("00814665", "008146650")], text: validationFailed,
            diagnostics: "Länge PZN unzulässig (muss 8-stellig sein)"),
        Row(name: "A_23892 PZN check digit", file: pzn, edits: [("00814665", "00814666")], text: PrescriptionChecks.Texts.pznCheckDigit,
            code: "TIFLOW_EREZEPT_PZN_INVALID"),
        Row(name: "A_24034 ingredient PZN check digit", file: compounding, edits: [("10206346", "10206347")],
            text: PrescriptionChecks.Texts.pznCheckDigit, code: "TIFLOW_EREZEPT_PZN_INVALID"),
        Row(name: "A_24034 ingredient PZN passes", file: compounding, status: 200),
        // KBV 1.3 fixes the system (a validation error); KBV 1.1 admitted the PKV one for PKV patients.
        Row(name: "A_23936-01 patient identifier system", file: "conformance/bundle/kbv1.1.0-Beispiel_1.xml",
            edits: [(#"<code value="GKV" /></coding></type><system value="http://fhir.de/sid/gkv/kvid-10" />"#,
                     #"<code value="PKV" /></coding></type><system value="http://fhir.de/sid/pkv/kvid-10" />"#),
                    (#"versicherungsart-de-basis" /><code value="GKV" />"#, #"versicherungsart-de-basis" /><code value="PKV" />"#)],
            flowType: 200, text: PrescriptionChecks.Texts.patientSystem),
        Row(name: "A_23888 IKNR check digit", file: pzn, edits: [("109719018", "109719019")], text: PrescriptionChecks.Texts.payorIKNR),
        Row(name: "A_24030 alternative IKNR check digit", file: accident, edits: [("120591802", "120591803")],
            text: PrescriptionChecks.Texts.alternativeIKNR),
        Row(name: "A_24030 alternative IKNR passes", file: accident, status: 200),
        // The KBV profile's own MVO invariants find these first, at the FD too (validation before
        // its checks); the FD's texts for them are tested on the domain (PrescriptionChecksTests).
        Row(name: "A_22628 MVO at most 4", file: mvo, edits: [("<denominator><value value=\"2\" />", "<denominator><value value=\"5\" />")],
            text: validationFailed, diagnostics: "-erp-multiplePrescriptionDenominatorValue"),
        Row(name: "A_22630 MVO numerator above denominator", file: mvo, edits: [("<numerator><value value=\"1\" />", "<numerator><value value=\"3\" />")],
            text: validationFailed, diagnostics: "-erp-multiplePrescriptionNummerierung"),
        Row(name: "A_23164 MVO end before start", file: mvo,
            edits: [(#"<start value="2024-04-01" />"#, #"<start value="2024-04-01" /><end value="2024-03-31" />"#)],
            text: validationFailed, diagnostics: "-erp-multiplePrescriptionEinloesefristEnde"),
        Row(name: "A_23537 MVO start before authoredOn", file: mvo, edits: [(#"<start value="2024-04-01" />"#, #"<start value="2024-03-31" />"#)],
            text: validationFailed, diagnostics: "-erp-multiplePrescriptionEinloesefristBeginn"),
        Row(name: "A_22632 MVO discharge", file: mvo,
            edits: [(#"KBV_STATUSKENNZEICHEN" /><code value="00" />"#, #"KBV_STATUSKENNZEICHEN" /><code value="04" />"#)],
            text: "Für Entlassrezepte sind keine Mehrfachverordnungen zulässig"),
        Row(name: "A_22633 MVO substitute", file: mvo,
            edits: [(#"KBV_STATUSKENNZEICHEN" /><code value="00" />"#, #"KBV_STATUSKENNZEICHEN" /><code value="10" />"#)],
            text: "Für Ersatzverordnung sind keine Mehrfachverordnungen zulässig"),
        Row(name: "A_22627-01 MVO passes", file: mvo, status: 200),
        Row(name: "A_22231-01 BtM", file: pzn,
            edits: [(#"Medication_Category" /><code value="00" />"#, #"Medication_Category" /><code value="01" />"#)],
            text: "BTM nicht zulässig", code: "TIFLOW_EREZEPT_DRUG_CATEGORY_FORBIDDEN"),
        Row(name: "A_25642 medicines only", file: pzn,
            edits: [(#"Medication_Category" /><code value="00" />"#, #"Medication_Category" /><code value="02" />"#)],
            text: "Für diesen Workflowtypen sind nur Arzneimittelverordnungen zulässig", code: "TIFLOW_FLOWTYPE_MISMATCH"),
        Row(name: "A_21370 flow type", file: pzn, flowType: 169, bundleID: "160.100.000.000.006.24",
            text: "Flowtype mismatch between Task and QES-Bundle"),
        Row(name: "A_21370 PrescriptionID", file: pzn, bundleID: "160.123.456.789.123.58", text: "PrescriptionId mismatch between Task and QES-Bundle"),
        Row(name: "A_23443-01 PKV coverage on 160", file: pkv, edits: pkvFixed, flowType: 160, text: "Coverage \"PKV\" not allowed for flowtype 160/162/169",
            code: "TIFLOW_COVERAGE_TYPE_MISMATCH"),
        Row(name: "A_22347-01 GKV coverage on 200", file: pzn, flowType: 200, text: "Coverage \"PKV\" not set for flowtype 200/209",
            code: "TIFLOW_COVERAGE_TYPE_MISMATCH"),
        Row(name: "A_22347-01 PKV coverage on 200 passes", file: pkv, edits: pkvFixed, flowType: 200, status: 200),
        Row(name: "A_23888 the PKV example's IKNR", file: pkv, flowType: 200, text: PrescriptionChecks.Texts.payorIKNR),
        Row(name: "A_24033 LANR check digit warns", file: pzn, edits: [("123456628", "123456728")], status: 252),
        Row(name: "A_23890-01 KVNR check digit", file: pzn, edits: [("K220635158", "K220635159")], text: PrescriptionChecks.Texts.kvnrCheckDigit),
    ]

    /// Creates a task for the bundle and posts it; the answer.
    static func activate(_ bundle: Element, flowType: Int? = nil, bundleID: String? = nil, client: Client) async throws -> Reply {
        let factory = try await TaskFactory(client: client)
        let task = try await factory.prepare(.draft, flowType: flowType ?? KBVExamples.flowType(of: bundle))
        let body = try KBVExamples.parameters(KBVExamples.withID(bundle, bundleID ?? task.id), format: client.format.fhirFormat)
        return try await client.send(.post, "/Task/\(task.id)/$activate?ac=\(task.accessCode)", token: factory.doctor, body: body)
    }

    static func server(windows: ProfileVersionWindows = ProfileVersionWindows(windows: []), policy: PractitionerNumberPolicy = .warning)
        async throws -> TestServer?
    {
        guard let validation = await KBVExamples.validation(windows: windows) else {
            print("skipped: ../shared/fixtures not present")
            return nil
        }
        var server = try await TestServer()
        server.env.prescriptionValidation = validation
        server.env.practitionerNumbers = policy
        return server
    }

    @Test(.serialized, arguments: rows)
    func checkOverHTTP(row: Row) async throws {
        guard let server = try await Self.server() else { return }
        defer { Task { await server.remove() } }
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            for format in [WireFormat.json, .xml] {
                let client = Client(client: client, format: format, server: server)
                let bundle = try KBVExamples.bundle(row.file, edits: row.edits)
                let reply = try await Self.activate(bundle, flowType: row.flowType, bundleID: row.bundleID, client: client)
                let context = "\(row.name) [\(format)]: \(String(decoding: reply.bytes.prefix(1200), as: UTF8.self))"
                #expect(Int(reply.status.code) == row.status, "\(context)")
                if row.status != 400 { #expect(reply.headers[HTTPField.Name("KBV-Verordnungsdaten")!] == "1.3", "\(context)") }
                guard row.status == 400 else {
                    if row.status == 252 {
                        #expect(reply.headers[HTTPField.Name("Warning")!] == "252 erp-server \"\(PrescriptionChecks.Texts.invalidPractitionerNumber)\"")
                    }
                    continue
                }
                let issue = try reply.resource().child("issue")
                #expect(issue?.value(of: "code") == "invalid", "\(context)")
                if let text = row.text { #expect(issue?.child("details")?.value(of: "text") == text, "\(context)") }
                if let code = row.code { #expect(issue?.descendant("details", "coding", "code")?.value == code, "\(context)") }
                if let diagnostics = row.diagnostics { #expect(issue?.value(of: "diagnostics")?.contains(diagnostics) == true, "\(context)") }
            }
        }
    }

    /// fd-parity §8.2: the task is checked before the prescription, whatever the body's size: a bad
    /// prescription for a cancelled task answers 410, for a ready one 403.
    @Test func theTaskIsCheckedBeforeThePrescription() async throws {
        guard let server = try await Self.server() else { return }
        defer { Task { await server.remove() } }
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let client = Client(client: client, format: .xml, server: server)
            let factory = try await TaskFactory(client: client)
            let bad = try KBVExamples.bundle(Self.pzn, edits: [("00814665", "00814666")])
            for (state, status) in [(TaskFactory.State.cancelled, 410), (.ready, 403)] {
                let task = try await factory.prepare(state)
                let body = try KBVExamples.parameters(KBVExamples.withID(bad, task.id), format: .xml)
                let reply = try await client.send(.post, "/Task/\(task.id)/$activate?ac=\(task.accessCode)", token: factory.doctor, body: body)
                #expect(Int(reply.status.code) == status, "\(state)")
            }
        }
    }

    /// A_22635-02 (fd-parity §8.4): a part of a multiple prescription whose period starts later is
    /// refused at `$accept` with 403 and the day it becomes redeemable; ERP_EE_MVO_07 asserts 403.
    @Test func multiplePrescriptionPartBeforeItsStartA22635_02() async throws {
        guard let server = try await Self.server() else { return }
        defer { Task { await server.remove() } }
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            for format in [WireFormat.json, .xml] {
                let client = Client(client: client, format: format, server: server)
                let factory = try await TaskFactory(client: client)
                let later = try KBVExamples.bundle(Self.mvo, edits: [(#"<start value="2024-04-01" />"#, #"<start value="2099-04-01" /><end value="2099-06-30" />"#)])
                let task = try await factory.prepare(.draft)
                let body = try KBVExamples.parameters(KBVExamples.withID(later, task.id), format: format.fhirFormat)
                let activated = try await client.send(.post, "/Task/\(task.id)/$activate?ac=\(task.accessCode)", token: factory.doctor, body: body)
                #expect(activated.status == .ok)
                #expect(try activated.resource().children(named: "extension").contains { $0.value(of: "valueDate") == "2099-06-30" })
                let accepted = try await client.send(.post, "/Task/\(task.id)/$accept?ac=\(task.accessCode)", token: factory.pharmacy)
                #expect(accepted.status == .forbidden)
                #expect(try accepted.resource().descendant("issue", "details", "text")?.value
                    == "Teilverordnung zur Mehrfachverordnung urn:uuid:24e2e10d-e962-4d1c-be4f-8760e690a5f0 ist ab 01.04.2099 einlösbar.")
            }
        }
    }

    /// A_24032: with `--anr-checksum-validation error` the LANR check refuses.
    @Test func practitionerNumberRefusedInErrorModeA24032() async throws {
        guard let server = try await Self.server(policy: .error) else { return }
        defer { Task { await server.remove() } }
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let client = Client(client: client, format: .xml, server: server)
            let reply = try await Self.activate(try KBVExamples.bundle(Self.pzn, edits: [("123456628", "123456728")]), client: client)
            #expect(reply.status.code == 400)
            #expect(try reply.resource().descendant("issue", "details", "text")?.value == PrescriptionChecks.Texts.invalidPractitionerNumber)
        }
    }

    /// §8.1: the built-in windows judge the version by authoredOn: KBV 1.3 was not in force on
    /// 2024-05-20 (the example's date), KBV 1.1 was, and 1.3 is on 2026-02-01.
    @Test func versionWindowByAuthoredOnA19025_03() async throws {
        guard let server = try await Self.server(windows: try ErxProfiles.kbvVersions()) else { return }
        defer { Task { await server.remove() } }
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let client = Client(client: client, format: .json, server: server)
            let old = try await Self.activate(try KBVExamples.bundle(Self.pzn), client: client)
            #expect(old.status.code == 400)
            let issue = try old.resource().child("issue")
            #expect(issue?.descendant("details", "text")?.value == Self.validationFailed)
            #expect(issue?.value(of: "diagnostics") == "KBV_PR_ERP_Bundle version 1.3 is not in force on 2024-05-20 (MedicationRequest.authoredOn); in force then: 1.1")
            let current = try await Self.activate(
                try KBVExamples.bundle(Self.pzn, edits: [(#"<authoredOn value="2024-05-20" />"#, #"<authoredOn value="2026-02-01" />"#)]), client: client)
            #expect(current.status.code == 200, "\(String(decoding: current.bytes.prefix(800), as: UTF8.self))")
        }
    }
}
