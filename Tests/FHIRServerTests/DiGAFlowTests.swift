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

/// Flow type 162, DiGA (issue 24 item 3), over real HTTP on loopback, in JSON and XML, on both
/// stores: a prescriber creates and activates a DiGA prescription (`KBV_PR_EVDGA_Bundle`), the
/// insurer (`oid_kostentraeger`) accepts and closes it with `GEM_ERP_PR_MedicationDispense_DiGA`,
/// the insurant reads task and dispensation; every answer validated against the profiles it claims.
/// Skipped without `../shared/fixtures` (the KBV example the bundle is made from, the packages).
@Suite struct DiGAFlowTests {
    static let insurerTelematikID = "8-SMC-B-Testkarte-883110000095957"
    static let cases: [(StoreKind, WireFormat)] = [(.sqlite, .json), (.sqlite, .xml), (.postgresql, .json), (.postgresql, .xml)]
    static let closeDiGA = "conformance/close-request/ig-wf1.6.0-Parameters-ExampleCloseInputParametersDiGA.xml"
    static let closeMedicine = "conformance/close-request/ig-wf1.6.0-Parameters-ExampleCloseInputParameters.xml"
    static let redeemCode = #"<extension url="https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_EX_RedeemCode"><valueString value="DE12345678901234" /></extension>"#

    /// The close body as the IG's `…-DiGA-NoRedeemCode` example has it: no redeem code, the app's
    /// reference a data-absent-reason, a note why (workflow invariants `…-redeemcode-1`/`-2`).
    static let withoutRedeemCode = [
        (redeemCode, ""),
        (#"<medicationReference><identifier><system value="http://fhir.de/CodeSystem/ifa/pzn" /><value value="12345678" /></identifier><display value="Gematico Diabetestherapie" /></medicationReference>"#,
         #"<medicationReference><extension url="http://hl7.org/fhir/StructureDefinition/data-absent-reason"><valueCode value="asked-declined" /></extension></medicationReference>"#),
        (#"<whenHandedOver value="2026-10-07" />"#, #"<whenHandedOver value="2026-10-07" /><note><text value="Die Versicherte hat die Anwendung abgelehnt." /></note>"#),
    ]

    struct Parties {
        let doctor: String
        let psychotherapist: String
        let insurer: String
        let pharmacy: String
        let insurant: String

        init(_ server: TestServer) async throws {
            doctor = try await server.token(.doctorsPractice, id: TestServer.doctorTelematikID)
            psychotherapist = try await server.token(.psychotherapistsPractice, id: "1-SMC-B-Testkarte-883110000129070")
            insurer = try await server.token(.insurer, id: DiGAFlowTests.insurerTelematikID, organizationName: "erx Test-Krankenkasse")
            pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
            insurant = try await server.token(.insurant, id: HealthAppPrescriptions.kvnr)
        }
    }

    struct Prepared {
        let id: String
        let accessCode: String
        var secret = ""
    }

    static func live(_ kind: StoreKind, _ format: WireFormat, _ body: @Sendable (Client, TestServer, Parties) async throws -> Void) async throws {
        guard let validation = await KBVExamples.validation() else {
            print("skipped: ../shared/fixtures not present")
            return
        }
        var configured = try await TestServer(store: kind)
        configured.env.prescriptionValidation = validation
        let server = configured
        defer { Task { await server.remove() } }
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let parties = try await Parties(server)
        try await app.test(.live) { client in try await body(Client(client: client, format: format, server: server), server, parties) }
    }

    /// `$create` of a 162 task by `prescriber`, `$activate` with the DiGA bundle (edited by `edits`).
    static func activate(_ client: Client, by prescriber: String, flowType: Int = 162, edits: [(String, String)] = [],
                         authoredOn: String = "2026-10-01") async throws -> (Prepared, Reply) {
        let created = try await client.send(.post, "/Task/$create", token: prescriber, body: Bodies.createParameters(flowType: flowType))
        #expect(created.status == .created, "\(String(decoding: created.bytes.prefix(400), as: UTF8.self))")
        let task = try created.resource()
        let id = try #require(task.value(of: "id"))
        let accessCode = try #require(task.children(named: "identifier").first { $0.value(of: "system") == Systems.accessCode }?.value(of: "value"))
        let bundle = try HealthAppPrescriptions.bundle(id: id, authoredOn: authoredOn, edits: edits)
        let body = try KBVExamples.parameters(bundle, format: client.format.fhirFormat)
        let reply = try await client.send(.post, "/Task/\(id)/$activate?ac=\(accessCode)", token: prescriber, body: body)
        return (Prepared(id: id, accessCode: accessCode), reply)
    }

    /// A `$close` body of workflow 1.6 for task `id` (the IG's example, made out for our parties).
    static func closeBody(_ file: String = closeDiGA, id: String, format: WireFormat, performer: String = insurerTelematikID,
                          edits: [(String, String)] = []) throws -> Element {
        let prescriptionID = file == closeDiGA ? "162.000.033.491.280.78" : "160.000.033.491.280.78"
        let performerInFile = file == closeDiGA ? insurerTelematikID : TestServer.pharmacyTelematikID
        return try KBVExamples.bundle(file, edits: [(prescriptionID, id), ("X123456789", HealthAppPrescriptions.kvnr),
                                                    (performerInFile, performer), ("2026-04-01", "2026-10-07")] + edits)
    }

    static func text(_ reply: Reply) -> String { String(decoding: reply.bytes.prefix(1200), as: UTF8.self) }

    /// The whole flow; A_19018-01 (a psychotherapist's practice creates), A_25990 (psychotherapists
    /// sign DiGA), A_19166-02/A_25993 (the insurer accepts), A_19230-01 (and closes), A_23090-07
    /// (`Diga-Redeem-Code`), A_26003-01 (the DiGA dispense), A_19405-02 (the insurant reads it), A_25944-01
    /// (no ePA transfer for 162).
    @Test(arguments: cases)
    func theInsurerRedeemsADiGA(kind: StoreKind, format: WireFormat) async throws {
        try await Self.live(kind, format) { client, server, parties in
            let tally = AnswerValidator.Tally()
            let (task, activated) = try await Self.activate(client, by: parties.psychotherapist)
            let ready = try #require(try AnswerValidator.check(activated, route: "POST /Task/{id}/$activate (162)", status: .ok, tally: tally))
            #expect(ready.value(of: "status") == "ready")
            #expect(activated.headers[HTTPField.Name("KBV-Verordnungsdaten")!] == "1.2")
            // A_27845 (IBM Task.cxx setAcceptDateDependentPrescriptionType): accept and expiry date 3 months after signing.
            let dates = ready.children(named: "extension").reduce(into: [String: String]()) { $0[$1.value(of: "url") ?? ""] = $1.value(of: "valueDate") }
            #expect(dates["https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_EX_AcceptDate"] == "2027-01-01")
            #expect(dates["https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_EX_ExpiryDate"] == "2027-01-01")
            #expect(ready.descendant("performerType", "coding", "code")?.value == "urn:oid:1.2.276.0.76.4.59")

            let accepted = try await client.send(.post, "/Task/\(task.id)/$accept?ac=\(task.accessCode)", token: parties.insurer)
            let acceptedBundle = try #require(try AnswerValidator.check(accepted, route: "POST /Task/{id}/$accept (162)", status: .ok, tally: tally))
            let acceptedTask = try #require(acceptedBundle.child("entry")?.child("resource")?.wrappedResource)
            #expect(acceptedTask.value(of: "status") == "in-progress")
            let secret = try #require(acceptedTask.children(named: "identifier").first { $0.value(of: "system") == Systems.secret }?.value(of: "value"))
            #expect(acceptedTask.descendant("owner", "identifier", "value")?.value == Self.insurerTelematikID)

            let read = try await client.send(.get, "/Task/\(task.id)?secret=\(secret)", token: parties.insurer)
            try AnswerValidator.check(read, route: "GET /Task/{id}?secret (insurer)", status: .ok, tally: tally)

            let closed = try await client.send(.post, "/Task/\(task.id)/$close?secret=\(secret)", token: parties.insurer,
                                               body: try Self.closeBody(id: task.id, format: format))
            let receipt = try #require(try AnswerValidator.check(closed, route: "POST /Task/{id}/$close (162)", status: .ok, tally: tally))
            #expect(closed.headers[HTTPField.Name("Diga-Redeem-Code")!] == "1", "\(Self.text(closed))")
            #expect(receipt.value(of: "type") == "document")
            #expect(await ReceiptIssuer.verifyReceipt(receipt, certificate: server.receipts.certificate))

            let taskRead = try await client.send(.get, "/Task/\(task.id)", token: parties.insurant)
            let insurantBundle = try #require(try AnswerValidator.check(taskRead, route: "GET /Task/{id} (insurant, 162)", status: .ok, tally: tally))
            #expect(insurantBundle.children(named: "entry").first?.child("resource")?.wrappedResource?.value(of: "status") == "completed")
            let dispenses = try await client.send(.get, "/MedicationDispense", token: parties.insurant)
            let searchset = try #require(try AnswerValidator.check(dispenses, route: "GET /MedicationDispense (DiGA)", status: .ok, tally: tally))
            let md = try #require(searchset.child("entry")?.child("resource")?.wrappedResource)
            #expect(md.value(of: "id") == task.id)
            #expect(md.descendant("meta", "profile")?.value == "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_MedicationDispense_DiGA|1.6")
            #expect(md.extensions("https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_EX_RedeemCode").first?.value(of: "valueString") == "DE12345678901234")
            #expect(tally.validated.contains("https://fhir.kbv.de/StructureDefinition/KBV_PR_EVDGA_Bundle|1.2"))
            #expect(tally.validated.contains("https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_MedicationDispense_DiGA|1.6"))

            // A_25944-01: nothing for the ePA of a DiGA; a medicine prescription beside it is transferred.
            #expect(try await server.store.readUnchecked(sql: "SELECT count(*) FROM outbox") == ["0"])
            let factory = try await TaskFactory(client: client)
            _ = try await factory.prepare(.ready)
            #expect(try await server.store.readUnchecked(sql: "SELECT count(*) FROM outbox") == ["1"])
        }
    }

    /// A_23090-07: `Diga-Redeem-Code: 0` when the dispense carries no redeem code (IBM
    /// `MedicationsAndDispenses::containsDigaRedeemCode`).
    @Test(arguments: [WireFormat.json, .xml])
    func noRedeemCodeAnswersZero(format: WireFormat) async throws {
        try await Self.live(.sqlite, format) { client, _, parties in
            let (task, activated) = try await Self.activate(client, by: parties.doctor)
            #expect(activated.status == .ok, "\(Self.text(activated))")
            let accepted = try await client.send(.post, "/Task/\(task.id)/$accept?ac=\(task.accessCode)", token: parties.insurer)
            let secret = try #require(try accepted.resource().child("entry")?.child("resource")?.wrappedResource?
                .children(named: "identifier").first { $0.value(of: "system") == Systems.secret }?.value(of: "value"))
            let closed = try await client.send(.post, "/Task/\(task.id)/$close?secret=\(secret)", token: parties.insurer,
                                               body: try Self.closeBody(id: task.id, format: format, edits: Self.withoutRedeemCode))
            #expect(closed.status == .ok, "\(Self.text(closed))")
            #expect(closed.headers[HTTPField.Name("Diga-Redeem-Code")!] == "0")
        }
    }
}
