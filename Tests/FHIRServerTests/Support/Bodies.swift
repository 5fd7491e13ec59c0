import Dispensing
import FHIRFormats
import FHIRModel
import Foundation
import Synchronization

/// Request bodies for the tests, made from our own fixtures (`fixtures/`), never from the corpus.
enum Bodies {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fixtures")

    static func createParameters(flowType: Int = 160) -> Element {
        .init(name: "Parameters", children: [
            .init(name: "parameter", children: [
                .init(name: "name", value: "workflowType"),
                .init(name: "valueCoding", children: [
                    .init(name: "system", value: Systems.flowType), .init(name: "code", value: String(flowType)),
                ]),
            ]),
        ])
    }

    /// A minimal KBV-style prescription bundle for `$activate` (the server runs with
    /// `--accept-unsigned` in these tests). It claims no KBV profile but is a valid R4 document
    /// (Composition first, `timestamp`, a medication), so what the server hands back of it can be
    /// validated against R4 core (EveryAnswerValidTests).
    /// A complete KBV e-prescription (`KBV_PR_ERP_Bundle|1.4`, a PZN prescription on GKV) made out
    /// for a task: `fixtures/prescriptions/kbv-1.4-pzn.json`, our own bundle, valid against the
    /// official KBV packages and passing every FD check at `$activate`. What a production server
    /// (without `--accept-unsigned`) activates; the minimal ``prescription(id:kvnr:authoredOn:)``
    /// claims no KBV profile and passes only in the development mode.
    static func kbvPrescription(id: String, kvnr: String = TestServer.kvnr, authoredOn: String) throws -> Element {
        let text = try String(contentsOf: fixtures.appendingPathComponent("prescriptions/kbv-1.4-pzn.json"), encoding: .utf8)
            .replacingOccurrences(of: "{{PRESCRIPTION_ID}}", with: id)
            .replacingOccurrences(of: "{{KVNR}}", with: kvnr)
            .replacingOccurrences(of: "{{AUTHORED_ON}}", with: authoredOn)
        return try FHIRFormat.json.read(Array(text.utf8)).resource
    }

    static func prescription(id: String, kvnr: String = TestServer.kvnr, authoredOn: String) -> Element {
        let patient = "urn:uuid:0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b01"
        return .init(name: "Bundle", children: [
            .init(name: "identifier", children: [.init(name: "system", value: Systems.prescriptionID), .init(name: "value", value: id)]),
            .init(name: "type", value: "document"),
            .init(name: "timestamp", value: "\(authoredOn)T08:00:00+00:00"),
            .init(name: "entry", children: [
                .init(name: "fullUrl", value: "urn:uuid:0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b00"),
                .init(name: "resource", children: [.init(name: "Composition", children: [
                    .init(name: "status", value: "final"),
                    .init(name: "type", children: [.init(name: "text", value: "Verordnung")]),
                    .init(name: "subject", children: [.init(name: "reference", value: patient)]),
                    .init(name: "date", value: authoredOn),
                    .init(name: "author", children: [.init(name: "display", value: "Dr. Test")]),
                    .init(name: "title", value: "elektronische Arzneimittelverordnung"),
                ])]),
            ]),
            .init(name: "entry", children: [
                .init(name: "fullUrl", value: patient),
                .init(name: "resource", children: [.init(name: "Patient", children: [
                    .init(name: "identifier", children: [.init(name: "system", value: Systems.kvnr), .init(name: "value", value: kvnr)]),
                ])]),
            ]),
            .init(name: "entry", children: [
                .init(name: "fullUrl", value: "urn:uuid:0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b02"),
                .init(name: "resource", children: [.init(name: "MedicationRequest", children: [
                    .init(name: "status", value: "active"), .init(name: "intent", value: "order"),
                    .init(name: "medicationCodeableConcept", children: [.init(name: "text", value: "Ibuprofen 400 mg")]),
                    .init(name: "subject", children: [.init(name: "reference", value: patient)]),
                    .init(name: "authoredOn", value: authoredOn),
                ])]),
            ]),
        ])
    }

    /// `fixtures/validation/valid/dispense-1.6-two.json` made out for a task: its PrescriptionID,
    /// KVNR and pharmacy, with `count` rxDispensations (copies of the first, each with its own
    /// Medication id), `whenHandedOver` set to `handedOver`.
    /// A hand-over day that differs from the previous call's (2026-10-02 … 2026-10-28 in turn): a
    /// repeated `$dispense` of the same set sends nothing to the registry (A_25933), so tests that
    /// count transfers dispense a changed set each time.
    static func nextHandover() -> String {
        handover(handovers.add(1, ordering: .relaxed).oldValue)
    }

    /// The `n`th of 60 hand-over days from 2026-10-02 (inside workflow 1.6's window, before today).
    static func handover(_ n: Int) -> String {
        CalendarDate.adding(days: 2 + n % 60, to: "2026-09-30") ?? "2026-10-08"
    }

    private static let handovers = Atomic<Int>(0)

    static func dispense(id: String, count: Int, kvnr: String = TestServer.kvnr, telematikID: String = TestServer.pharmacyTelematikID,
                         handedOver: String = "2026-10-08", tag: String = "") throws -> Element {
        var text = try String(contentsOf: fixtures.appendingPathComponent("validation/valid/dispense-1.6-two.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: "160.100.000.412.558.88", with: id)
            .replacingOccurrences(of: "M572033186", with: kvnr)
            .replacingOccurrences(of: "3-SMC-B-Testkarte-883110000147226", with: telematikID)
            .replacingOccurrences(of: "2026-10-09", with: handedOver).replacingOccurrences(of: "2026-10-08", with: handedOver)
        var parameters = try FHIRFormat.json.read(Array(text.utf8)).resource
        let template = parameters.children.first { $0.name == "parameter" }!
        parameters.children.removeAll { $0.name == "parameter" }
        for index in 0..<count {
            parameters.children.append(renamed(template, suffix: "\(tag)\(index)"))
        }
        return parameters
    }

    /// A copy of an rxDispensation with a fresh Medication id (and the reference to it).
    static func renamed(_ parameter: Element, suffix: String) -> Element {
        var copy = parameter
        guard let mdIndex = copy.children.firstIndex(where: { $0.name == "part" && $0.value(of: "name") == "medicationDispense" }),
              let medIndex = copy.children.firstIndex(where: { $0.name == "part" && $0.value(of: "name") == "medication" }),
              let oldID = copy.children[medIndex].child("resource")?.wrappedResource?.value(of: "id")
        else { return copy }
        let newID = UUID().uuidString.lowercased()
        copy.children[medIndex] = replacing(copy.children[medIndex], value: oldID, with: newID, inNamed: "id")
        copy.children[mdIndex] = replacingSuffix(copy.children[mdIndex], old: oldID, new: newID)
        return copy
    }

    private static func replacing(_ element: Element, value: String, with new: String, inNamed name: String) -> Element {
        var copy = element
        if copy.name == name, copy.value == value { copy.value = new }
        copy.children = copy.children.map { replacing($0, value: value, with: new, inNamed: name) }
        return copy
    }

    private static func replacingSuffix(_ element: Element, old: String, new: String) -> Element {
        var copy = element
        if copy.name == "reference", let value = copy.value, value.hasSuffix(old) { copy.value = String(value.dropLast(old.count)) + new }
        copy.children = copy.children.map { replacingSuffix($0, old: old, new: new) }
        return copy
    }
}
