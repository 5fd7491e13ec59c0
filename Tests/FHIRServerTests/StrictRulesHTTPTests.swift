import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import StoreTestSupport
import Testing

/// `--rules strict` over a real socket (ARCHITECTURE decision 14; ours): for each strict rule a body
/// that passes and one that breaks it, answered 422 `business-rule` with the FHIRPath of the
/// offending element, in JSON and XML, on both stores; and the same bodies accepted under `--rules
/// fd`, the default, as the production service accepts them.
@Suite struct StrictRulesHTTPTests {
    /// `fixtures/prescriptions/kbv-1.4-pzn.json` prescribes 2 × `Packung` of this PZN.
    static let prescribedPZN = "04351736"
    /// The PZN of the scenario body `bodies/dispense-1.6.json`, handed over on 2026-10-07.
    static let otherPZN = "18742630"
    static func packages(_ value: Int) -> String { "{\"value\": \(value), \"unit\": \"Packung\"}" }
    /// A KVNR whose check digit is right: the KBV bundle's checks at `$activate` want one.
    static let kvnr = testKVNR(31)
    static func ucumPackages(_ value: Int) -> String { "{\"value\": \(value), \"system\": \"http://unitsofmeasure.org\", \"code\": \"{Package}\"}" }

    enum Operation: String, Sendable {
        case dispense
        case closeWithBody
        /// `$dispense` under `fd`, then `$close` without a body: the rules judge the stored set.
        case closeStoredSet
    }

    struct Case: Sendable, CustomStringConvertible {
        let name: String
        var operation = Operation.dispense
        var substitutionAllowed = true
        /// One rxDispensation per entry, with that `quantity` (JSON) or none.
        var quantities: [String?] = [nil]
        var pzn = StrictRulesHTTPTests.otherPZN
        var expiry = "2028-03-31"
        /// `nil`: accepted under `strict` too; else the 422's one expression (`{{id}}` is the task's).
        var expression: String?
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "quantity: 1 + 1 of 2 packages", quantities: [packages(1), ucumPackages(1)]),
        Case(name: "quantity: 1 + 2 of 2 packages", quantities: [packages(1), ucumPackages(2)],
             expression: "Parameters.parameter[1].part[0].resource.quantity"),
        Case(name: "quantity at $close: 3 of 2 packages", operation: .closeWithBody, quantities: [packages(3)],
             expression: "Parameters.parameter[0].part[0].resource.quantity"),
        Case(name: "quantity of the stored set at $close: 3 of 2", operation: .closeStoredSet, quantities: [packages(3)],
             expression: "MedicationDispense.where(id='{{id}}').quantity"),
        Case(name: "quantity of the stored set at $close: 2 of 2", operation: .closeStoredSet, quantities: [packages(2)]),
        Case(name: "aut idem: the prescribed PZN", substitutionAllowed: false, pzn: prescribedPZN),
        Case(name: "aut idem: another PZN", substitutionAllowed: false, expression: "Parameters.parameter[0].part[1].resource.code.coding[0].code"),
        Case(name: "expiry on the hand-over day", expiry: "2026-10-07"),
        Case(name: "expired the day before hand-over", expiry: "2026-10-06",
             expression: "Parameters.parameter[0].part[1].resource.batch.expirationDate"),
    ]

    @Test(arguments: cases, StoreKind.allCases)
    func strictRefusesWhatFDAccepts(_ rule: Case, store: StoreKind) async throws {
        let server = try await TestServer(store: store)
        defer { Task { await server.remove() } }
        var configured = server
        configured.env.service.rules = .strict
        let strict = configured
        #expect(server.env.service.rules == .fd)
        let fdApp = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let strictApp = Application(router: strict.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        for format in [WireFormat.json, .xml] {
            // Under `strict`: the case's answer.
            // The stored set of `closeStoredSet` is dispensed under `fd` (as before a switch to `strict`).
            let task = try await (rule.operation == .closeStoredSet ? fdApp : strictApp).test(.live) { client in
                let client = Client(client: client, format: format, server: server)
                let task = try await TaskFactory(client: client).prepare(.inProgress, kvnr: Self.kvnr, prescription: Self.prescription(substitutionAllowed: rule.substitutionAllowed))
                if rule.operation == .closeStoredSet {
                    #expect(try await Self.send(.dispense, rule, task, client).status == .noContent)
                }
                return task
            }
            try await strictApp.test(.live) { client in
                let client = Client(client: client, format: format, server: strict)
                let reply = try await Self.send(rule.operation, rule, task, client)
                let context = "\(rule) [\(format), \(store)]: \(String(decoding: reply.bytes.prefix(600), as: UTF8.self))"
                guard let expression = rule.expression?.replacingOccurrences(of: "{{id}}", with: task.id) else {
                    #expect(reply.status == (rule.operation == .dispense ? .noContent : .ok), "\(context)")
                    return
                }
                #expect(reply.status.code == 422, "\(context)")
                let issues = try reply.resource().children(named: "issue")
                #expect(issues.count == 1 && issues.first?.value(of: "severity") == "error", "\(context)")
                #expect(issues.first?.value(of: "code") == "business-rule", "\(context)")
                #expect(issues.first?.children(named: "expression").compactMap(\.value) == [expression], "\(context)")
                #expect(issues.first?.child("details")?.value(of: "text")?.isEmpty == false, "\(context)")
                // Refused: nothing changed, the task is still open for a corrected set.
                #expect(try await client.server.store.task(#require(PrescriptionID(task.id)))?.status == .inProgress, "\(context)")
            }
            // Under `fd`, the default: the same request is accepted.
            try await fdApp.test(.live) { client in
                let client = Client(client: client, format: format, server: server)
                let fresh = try await TaskFactory(client: client).prepare(.inProgress, kvnr: Self.kvnr, prescription: Self.prescription(substitutionAllowed: rule.substitutionAllowed))
                if rule.operation == .closeStoredSet {
                    #expect(try await Self.send(.dispense, rule, fresh, client).status == .noContent)
                }
                let reply = try await Self.send(rule.operation, rule, fresh, client)
                #expect(reply.status == (rule.operation == .dispense ? .noContent : .ok),
                        "\(rule) [\(format), \(store), fd]: \(String(decoding: reply.bytes.prefix(600), as: UTF8.self))")
            }
        }
    }

    /// The request of `operation` for `task`: `$dispense` or `$close` with the case's body, or
    /// `$close` without one.
    static func send(_ operation: Operation, _ rule: Case, _ task: TaskFactory.Prepared, _ client: Client) async throws -> Reply {
        let token = try await client.server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
        switch operation {
        case .dispense:
            return try await client.send(.post, "/Task/\(task.id)/$dispense?secret=\(task.secret)", token: token, body: body(rule, id: task.id))
        case .closeWithBody:
            return try await client.send(.post, "/Task/\(task.id)/$close?secret=\(task.secret)", token: token, body: body(rule, id: task.id, close: true))
        case .closeStoredSet:
            return try await client.send(.post, "/Task/\(task.id)/$close?secret=\(task.secret)", token: token)
        }
    }

    /// The scenario body `bodies/dispense-1.6.json` made out for the task, once per quantity (each
    /// copy with its own Medication id), with the case's PZN and batch expiry.
    static func body(_ rule: Case, id: String, close: Bool = false) throws -> Element {
        let template = try String(contentsOf: ScenarioReplayTests.directory.appendingPathComponent("bodies/dispense-1.6.json"), encoding: .utf8)
            .replacingOccurrences(of: "{{id}}", with: id)
            .replacingOccurrences(of: "{{kvnr}}", with: kvnr)
            .replacingOccurrences(of: "{{telematikID}}", with: TestServer.pharmacyTelematikID)
            .replacingOccurrences(of: "\"\(otherPZN)\"", with: "\"\(rule.pzn)\"")
            .replacingOccurrences(of: "\"2028-03-31\"", with: "\"\(rule.expiry)\"")
            .replacingOccurrences(of: "PAR_DispenseOperation_Input", with: close ? "PAR_CloseOperation_Input" : "PAR_DispenseOperation_Input")
        var parameters: Element?
        for (index, quantity) in rule.quantities.enumerated() {
            let text = quantity.map { template.replacingOccurrences(of: "\"whenPrepared\"", with: "\"quantity\": \($0), \"whenPrepared\"") } ?? template
            let resource = try FHIRFormat.json.read(Array(text.utf8)).resource
            guard let parameter = resource.children.first(where: { $0.name == "parameter" }) else { throw TemplateBroken() }
            if parameters == nil {
                parameters = resource
                parameters?.children.removeAll { $0.name == "parameter" }
            }
            parameters?.children.append(index == 0 ? parameter : Bodies.renamed(parameter, suffix: ""))
        }
        guard let parameters else { throw TemplateBroken() }
        return parameters
    }

    /// `fixtures/prescriptions/kbv-1.4-pzn.json` written today (so redeemable), with aut idem as the case says.
    static func prescription(substitutionAllowed: Bool) -> (_ id: String, _ kvnr: String) throws -> Element {
        { id, kvnr in
            var text = try String(contentsOf: Bodies.fixtures.appendingPathComponent("prescriptions/kbv-1.4-pzn.json"), encoding: .utf8)
                .replacingOccurrences(of: "{{PRESCRIPTION_ID}}", with: id)
                .replacingOccurrences(of: "{{KVNR}}", with: kvnr)
                .replacingOccurrences(of: "{{AUTHORED_ON}}", with: CalendarDate.day(of: Date()))
            if !substitutionAllowed {
                text = text.replacingOccurrences(of: "\"allowedBoolean\": true", with: "\"allowedBoolean\": false")
            }
            return try FHIRFormat.json.read(Array(text.utf8)).resource
        }
    }

    struct TemplateBroken: Error {}

    /// The texts of the strict refusals (ours, German then English).
    @Test func theRefusalsSayWhatIsWrong() {
        let quantity = ErrorSeam.answer(for: DispensingError.quantityExceedsPrescription(expression: "x", dispensed: "3", prescribed: "2", unit: "Packung"))
        #expect(quantity.status.code == 422 && quantity.outcome.issues.first?.code == .businessRule)
        #expect(quantity.outcome.issues.first?.text == "Die abgegebene Menge übersteigt die verordnete: 3 statt höchstens 2 (Packung). "
            + "The quantity dispensed exceeds the quantity prescribed: 3, at most 2 (Packung).")
        let substitution = ErrorSeam.answer(for: DispensingError.substitutionExcluded(expression: "x"))
        #expect(substitution.status.code == 422 && substitution.outcome.issues.first?.code == .businessRule)
        #expect(substitution.outcome.issues.first?.text == "Aut idem ausgeschlossen: Abgegeben werden darf nur das verordnete Arzneimittel (PZN). "
            + "The prescriber excluded substitution (aut idem): the PZN dispensed is not the PZN prescribed.")
    }
}
