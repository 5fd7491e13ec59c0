import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RegistrySimulator
import Testing

/// Flow 166 (T-Rezept, § 3a AMVV) end to end over a real socket in JSON and XML, with KBV's own
/// T-Rezept example (`kbv1.4.0-Beispiel_70_PZN_TRp.xml`, renumbered for a 166 task), and the
/// redemption dates `$activate` writes (A_27846, A_19517-04). Skipped without `../shared`.
@Suite(.serialized) struct TPrescriptionFlowTests {
    static let example = "conformance/bundle/kbv1.4.0-Beispiel_70_PZN_TRp.xml"
    static let example160 = "conformance/bundle/kbv1.4.0-Beispiel_1.xml"
    static let exampleKVNR = "K220645122"
    static let expiryURL = "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_EX_ExpiryDate"
    static let acceptURL = "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_EX_AcceptDate"

    static func dates(of task: Element) -> (expiry: String?, accept: String?) {
        (task.extensions(expiryURL).first?.value(of: "valueDate"), task.extensions(acceptURL).first?.value(of: "valueDate"))
    }

    static func example(_ file: String = example, authoredOn: String, legalBasis: String = "00") throws -> Element {
        let written = file == example ? "2025-05-20" : "2024-05-20"
        return try KBVExamples.bundle(file, edits: [
            (#"<authoredOn value="\#(written)" />"#, #"<authoredOn value="\#(authoredOn)" />"#),
            (#"KBV_STATUSKENNZEICHEN" /><code value="00" />"#, #"KBV_STATUSKENNZEICHEN" /><code value="\#(legalBasis)" />"#),
        ])
    }

    /// Creates a task of `flowType` and activates `bundle` for it.
    static func activate(_ bundle: Element, flowType: Int, client: Client, factory: TaskFactory) async throws -> (TaskFactory.Prepared, Reply) {
        let task = try await factory.prepare(.draft, flowType: flowType)
        let body = try KBVExamples.parameters(KBVExamples.withID(bundle, task.id), format: client.format.fhirFormat)
        return (task, try await client.send(.post, "/Task/\(task.id)/$activate?ac=\(task.accessCode)", token: factory.doctor, body: body))
    }

    /// A_27846 and the checks of A_27813 passed, then `$accept`,
    /// `$dispense`, `$close` as for 160; the close writes the BfArM copy (A_27823), whose content the
    /// simulator's check accepts: no KVNR in it, the teratogenic extension renamed as IBM does.
    @Test func fullFlowWithKBVsTRezeptExample() async throws {
        guard let server = try await KBVActivateTests.server() else { return }
        defer { Task { await server.remove() } }
        await AnswerValidator.loaded()
        let tally = AnswerValidator.Tally()
        let today = CalendarDate.day(of: Date())
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            for format in [WireFormat.json, .xml] {
                let client = Client(client: client, format: format, server: server)
                let factory = try await TaskFactory(client: client)
                let (task, activated) = try await Self.activate(try Self.example(authoredOn: today), flowType: 166, client: client, factory: factory)
                let activatedTask = try #require(try AnswerValidator.check(activated, route: "$activate 166 [\(format)]", status: .ok, tally: tally))
                #expect(activated.headers[HTTPField.Name("KBV-Verordnungsdaten")!] == "1.4")
                let sixDays = CalendarDate.adding(days: 6, to: today)
                #expect(Self.dates(of: activatedTask).expiry == sixDays, "A_27846 [\(format)]")
                #expect(Self.dates(of: activatedTask).accept == sixDays, "A_27846 [\(format)]")
                #expect(activatedTask.descendant("performerType", "coding", "code")?.value == "urn:oid:1.2.276.0.76.4.54", "a pharmacy redeems it")

                let accepted = try await client.send(.post, "/Task/\(task.id)/$accept?ac=\(task.accessCode)", token: factory.pharmacy)
                let bundle = try #require(try AnswerValidator.check(accepted, route: "$accept 166 [\(format)]", status: .ok, tally: tally))
                let secret = try #require(bundle.child("entry")?.child("resource")?.wrappedResource?.children(named: "identifier")
                    .first { $0.value(of: "system") == Systems.secret }?.value(of: "value"))
                let dispensed = try await client.send(.post, "/Task/\(task.id)/$dispense?secret=\(secret)", token: factory.pharmacy,
                                                      body: try Bodies.dispense(id: task.id, count: 1, kvnr: Self.exampleKVNR, handedOver: today))
                #expect(dispensed.status == .noContent, "\(String(decoding: dispensed.bytes.prefix(600), as: UTF8.self))")
                let closed = try await client.send(.post, "/Task/\(task.id)/$close?secret=\(secret)", token: factory.pharmacy)
                try AnswerValidator.check(closed, route: "$close 166 [\(format)]", status: .ok, tally: tally)
            }
        }
        // One copy per closed T-Rezept, waiting for the relay (none runs in this server).
        let due = try await server.store.dueCarbonCopies(now: Date(), limit: 10, claim: RelayClaim(holder: "test", duration: 30))
        #expect(due.count == 2)
        for copy in due {
            let id = try BfArMReceiverState.check(copy.body)
            #expect(id == copy.prescriptionID.rawValue)
            let text = String(decoding: copy.body, as: UTF8.self)
            #expect(!text.contains(Self.exampleKVNR), "the BfArM must not learn the insurant's KVNR")
            #expect(text.contains("https://gematik.de/fhir/epa-medication/StructureDefinition/teratogenic-extension"))
            #expect(text.contains("\"url\":\"off-label\""))
            #expect(text.contains(TestServer.pharmacyTelematikID))
            #expect(!text.contains("KBV_EX_FOR_StatusCoPayment"), "KBV billing data stays out")
        }
    }

    /// The refusals of `$activate` for 166 (fd-parity §8.1, §8.2 row 9): KBV before 1.4, and a
    /// medication that is not a T-Rezept one (A_27813), with the FD's texts, in JSON and XML.
    @Test func refusalsA27813() async throws {
        guard let server = try await KBVActivateTests.server() else { return }
        defer { Task { await server.remove() } }
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            for format in [WireFormat.json, .xml] {
                let client = Client(client: client, format: format, server: server)
                let factory = try await TaskFactory(client: client)
                for (file, text, code) in [
                    (KBVActivateTests.pzn, "T-Rezept Workflow 166 not allowed before KBV-1.4", nil),
                    (Self.example160, PrescriptionChecks.Texts.tPrescriptionsOnly, Optional("TIFLOW_FLOWTYPE_MISMATCH")),
                ] {
                    let (_, reply) = try await Self.activate(try KBVExamples.bundle(file), flowType: 166, client: client, factory: factory)
                    #expect(reply.status == .badRequest, "\(file) [\(format)]")
                    let issue = try reply.resource().child("issue")
                    #expect(issue?.descendant("details", "text")?.value == text, "\(file) [\(format)]")
                    if let code { #expect(issue?.descendant("details", "coding", "code")?.value == code) }
                }
            }
        }
    }

    /// A_19517-04: a discharge prescription (legal basis 04/14) may be accepted on 3 working days,
    /// the signing day included, Sundays and holidays skipped, in every flow: signed on the Thursday
    /// before Easter 2026, it ends on Tuesday 7 April (Good Friday, Easter Sunday and Monday skipped).
    /// The expiry stays the flow's. With `--discharge-validity-workdays 5`, Thursday 9 April.
    @Test func dischargeAcceptDateA19517_04() async throws {
        guard var server = try await KBVActivateTests.server() else { return }
        defer { Task { [server] in await server.remove() } }
        let rows: [(file: String, flowType: Int, legalBasis: String, workdays: Int, expiry: String, accept: String)] = [
            (Self.example, 166, "04", 3, "2026-04-08", "2026-04-07"),
            (Self.example, 166, "14", 3, "2026-04-08", "2026-04-07"),
            (Self.example, 166, "00", 3, "2026-04-08", "2026-04-08"),
            (Self.example160, 160, "04", 3, "2026-07-02", "2026-04-07"),
            (Self.example160, 160, "00", 3, "2026-07-02", "2026-04-30"),
            (Self.example160, 160, "04", 5, "2026-07-02", "2026-04-09"),
        ]
        for row in rows {
            server.env.dischargeValidityWorkdays = row.workdays
            let server = server
            let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in
                for format in [WireFormat.json, .xml] {
                    let client = Client(client: client, format: format, server: server)
                    let factory = try await TaskFactory(client: client)
                    let bundle = try Self.example(row.file, authoredOn: "2026-04-02", legalBasis: row.legalBasis)
                    let (_, reply) = try await Self.activate(bundle, flowType: row.flowType, client: client, factory: factory)
                    let context = "\(row.flowType) legal basis \(row.legalBasis), \(row.workdays) days [\(format)]"
                    #expect(reply.status == .ok, "\(context): \(String(decoding: reply.bytes.prefix(600), as: UTF8.self))")
                    guard reply.status == .ok else { continue }
                    let dates = Self.dates(of: try reply.resource())
                    #expect(dates.expiry == row.expiry, "\(context)")
                    #expect(dates.accept == row.accept, "\(context)")
                }
            }
        }
    }
}
