import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Issue 22, "done when": every official KBV bundle of `../shared/fixtures/MANIFEST.tsv` marked
/// `valid` activates, every one marked `invalid` is refused with 400, each posted in its own format
/// with its PrescriptionID rewritten to a task of its flow type (``KBVExamples/flowType(of:)``).
/// The server judges no version by date (the examples carry the dates of their time) and validates
/// against the official packages.
@Suite struct KBVExampleActivationTests {
    /// How the FD refuses the examples that do not activate: the refusing check's text (and, for the
    /// validator, a part of its diagnostics). Valid examples listed here are valid KBV documents the
    /// FD still refuses, for the reason given.
    static let refusals: [String: String] = [
        // Valid KBV examples of versions no package in ../shared describes and no window of the FD
        // ever admitted (KBV 1.0 ended 2023-06-30; 1.2 was never in force at the FD): refused as
        // the FD refuses a profile it does not know.
        "exr-e2e-2021-07-01-PZN-Verordnung-PZN_Nr1_VerordnungArzt.xml": "FHIR-Validation error | profile unknown",
        "exr-e2e-2022-01-01-PZN-Verordnung-PZN_Nr1_VerordnungArzt.xml": "FHIR-Validation error | profile unknown",
        "exr-e2e-2022-07-01-PZN-Verordnung-PZN_Nr1_VerordnungArzt.xml": "FHIR-Validation error | profile unknown",
        "kbv1.2.0-Beispiel_1.json": "FHIR-Validation error | profile unknown",
        "kbv1.2.0-Beispiel_1.xml": "FHIR-Validation error | profile unknown",
        "kbv1.2.0-Beispiel_16.json": "FHIR-Validation error | profile unknown",
        "kbv1.2.0-Beispiel_16.xml": "FHIR-Validation error | profile unknown",
        "kbv1.2.0-Beispiel_22.json": "FHIR-Validation error | profile unknown",
        "kbv1.2.0-Beispiel_22.xml": "FHIR-Validation error | profile unknown",
        "kbv1.2.0-Beispiel_23.json": "FHIR-Validation error | profile unknown",
        "kbv1.2.0-Beispiel_23.xml": "FHIR-Validation error | profile unknown",
        // Valid KBV documents the FD's checks refuse: gematik's API examples write the placeholder
        // KVNR X234567890 (check digit 1 would be right; A_23890-01); KBV's PKV example the IKNR
        // 123456789 (A_23888) — and the KVNR P123464113 (A_23890-01), found later.
        "api2025-01-15-erp_bereitstellen-02_Prescription_Bundle.xml": "Ungültige Versichertennummer (KVNR): Die übergebene Versichertennummer des Patienten entspricht nicht den Prüfziffer-Validierungsregeln.",
        "api2025-10-01-erp_bereitstellen-02_Prescription_Bundle.xml": "Ungültige Versichertennummer (KVNR): Die übergebene Versichertennummer des Patienten entspricht nicht den Prüfziffer-Validierungsregeln.",
        "kbv1.3.2-Beispiel_3_PKV.json": "Ungültiges Institutionskennzeichen (IKNR): Das übergebene Institutionskennzeichen im Versicherungsstatus entspricht nicht den Prüfziffer-Validierungsregeln.",
        "kbv1.3.2-Beispiel_3_PKV.xml": "Ungültiges Institutionskennzeichen (IKNR): Das übergebene Institutionskennzeichen im Versicherungsstatus entspricht nicht den Prüfziffer-Validierungsregeln.",
        // A_22231-01: the FD refuses every BtM prescription.
        "kbv1.4.0-Beispiel_61_PZN_BtM.xml": "BTM nicht zulässig",
        // T-Rezept examples numbered as flow 160 (A_25642); as 166 they activate (TPrescriptionFlowTests).
        "kbv1.4.0-Beispiel_70_PZN_TRp.xml": "Für diesen Workflowtypen sind nur Arzneimittelverordnungen zulässig",
        "kbv1.4.0-Beispiel_71_Wirkstoff_TRp.xml": "Für diesen Workflowtypen sind nur Arzneimittelverordnungen zulässig",
        // Invalid examples, by the check that refuses them.
        "e2etest-invalid-kbv-4fe2013d-ae94-441a-a1b1-78236ae65680.xml": "FHIR-Validation error | profile unknown",
        "neg-1_01.07.2022-aa432196-88ba-4215-9273-4367816e9671_01.xml": "FHIR-Validation error | profile unknown",
        "neg-1_01.07.2022-aa432196-88ba-4215-9273-4367816e9671_02.xml": "FHIR-Validation error | profile unknown",
        "neg-1_01.07.2022-aa432196-88ba-4215-9273-4367816e9671_03.xml": "FHIR-Validation error | profile unknown",
        "neg-1_01.07.2022-aa432196-88ba-4215-9273-4367816e9671_04.xml": "FHIR-Validation error | profile unknown",
        "neg-2_01.07.2023-e98da709-d9f8-494d-87b0-a59a0f471924_01.xml": "Ungültige PZN: Die übergebene Pharmazentralnummer entspricht nicht den vorgeschriebenen Prüfziffer-Validierungsregeln.",
        "neg-2_01.07.2023-e98da709-d9f8-494d-87b0-a59a0f471924_02.xml": "FHIR-Validation error | KBV_VS_SFHIR_KBV_DMP",
        "neg-2_01.07.2023-e98da709-d9f8-494d-87b0-a59a0f471924_03.xml": "Ungültige PZN: Die übergebene Pharmazentralnummer entspricht nicht den vorgeschriebenen Prüfziffer-Validierungsregeln.",
        "neg-2_01.07.2023-e98da709-d9f8-494d-87b0-a59a0f471924_04.xml": "FHIR-Validation error | KBV_VS_SFHIR_KBV_DMP",
        "neg-2_01.07.2023-e98da709-d9f8-494d-87b0-a59a0f471924_05.xml": "FHIR-Validation error | KBV_VS_SFHIR_KBV_PERSONENGRUPPE",
        "neg-2_01.07.2023-e98da709-d9f8-494d-87b0-a59a0f471924_06.xml": "FHIR-Validation error | KBV_VS_SFHIR_KBV_PERSONENGRUPPE",
        "neg-2_01.07.2023-e98da709-d9f8-494d-87b0-a59a0f471924_07.xml": "FHIR-Validation error | KBV_VS_SFHIR_KBV_PERSONENGRUPPE",
        "neg-2_01.07.2023-e98da709-d9f8-494d-87b0-a59a0f471924_08.xml": "FHIR-Validation error | KBV_VS_FOR_Payor_type",
        "ts2023-07-01-Arztpraxis-entlassrezept_nicht_als_mehrfachverordnung-002_document_to_sign.xml": "Für Entlassrezepte sind keine Mehrfachverordnungen zulässig",
        "ts2023-07-01-Fachdienst-laengenpruefung_pzn__7__bzw__9_stellig_ist_ungueltig-002_document_to_sign.xml": "FHIR-Validation error | Länge PZN unzulässig (muss 8-stellig sein)",
        "ts2023-07-01-Fachdienst-unzulaessige_denominatoren_und_numeratoren-002_document_to_sign.xml": "Ende der Einlösefrist liegt vor Beginn der Einlösefrist",
        "ts2025-01-15-Arztpraxis-entlassrezept_nicht_als_mehrfachverordnung-002_document_to_sign.xml": "Für Entlassrezepte sind keine Mehrfachverordnungen zulässig",
        "ts2025-01-15-Fachdienst-laengenpruefung_pzn__7__bzw__9_stellig_ist_ungueltig-002_document_to_sign.xml": "FHIR-Validation error | Länge PZN unzulässig (muss 8-stellig sein)",
        "ts2025-01-15-Fachdienst-unzulaessige_denominatoren_und_numeratoren-002_document_to_sign.xml": "Ende der Einlösefrist liegt vor Beginn der Einlösefrist",
        "ts2023-07-01-Fachdienst-sonstige_versicherungsarten_sind_nicht_zulaessig-002_document_to_sign.xml": "FHIR-Validation error | KBV_VS_FOR_Payor_type",
    ]

    static var rows: [KBVExamples.Row] { KBVExamples.rows }

    /// One example at a time: 95 live servers started at once starved the two cores of a CI
    /// machine (read timeouts); in a row they take seconds.
    @Test(.serialized, arguments: rows)
    func officialExample(row: KBVExamples.Row) async throws {
        guard let validation = await KBVExamples.validation() else { return }
        var configured = try await TestServer()
        configured.env.prescriptionValidation = validation
        let server = configured
        defer { Task { await server.remove() } }
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let name = row.description
        try await app.test(.live) { client in
            let format: WireFormat = row.file.hasSuffix(".json") ? .json : .xml
            let client = Client(client: client, format: format, server: server)
            let bundle = try KBVExamples.bundle(row.file)
            let reply = try await KBVActivateTests.activate(bundle, client: client)
            let outcome: String
            if reply.status == .ok {
                outcome = "activated"
            } else {
                let issue = try reply.resource().child("issue")
                let text = issue?.descendant("details", "text")?.value ?? ""
                let diagnostics = issue?.value(of: "diagnostics") ?? ""
                outcome = "\(reply.status.code) \(text) | \(diagnostics)"
            }
            print("KBV example \(name) [\(row.expected)]: \(outcome.prefix(300))")
            if let refusal = Self.refusals[name] {
                let parts = refusal.components(separatedBy: " | ")
                #expect(reply.status.code == 400, "\(name): \(outcome)")
                #expect(outcome.hasPrefix("400 \(parts[0]) |"), "\(name): \(outcome)")
                if parts.count > 1 { #expect(outcome.contains(parts[1]), "\(name): \(outcome)") }
            } else {
                // Every invalid example names its refusing check above.
                #expect(row.expected == "valid", "\(name): no expected refusal recorded; \(outcome)")
                #expect(reply.status == .ok, "\(name): \(outcome)")
            }
        }
    }
}
