import FHIRFormats
import FHIRModel
import Foundation
import RegistrySimulator

/// The official packages and a KBV prescription from `../shared/fixtures` (CI keeps `../shared`
/// beside the clone), read at run time and never copied into the project.
enum EPAPackages {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures")

    /// What the simulated medication service knows: `de.gematik.epa.medication` 1.3.4 (ePA 3.1)
    /// with those of its dependencies the fixtures hold, and the KBV packages whose extensions a
    /// prescription carries over into the ePA resources (A_25949), so that they are checked
    /// against their definitions rather than refused as unknown (the fixtures' subset of
    /// de.basisprofil.r4 1.5.4 lacks some, such as `humanname-namenszusatz`; 1.5.2 has them).
    static let names = [
        "de.gematik.epa.medication-1.3.4", "de.basisprofil.r4-1.5.4", "de.fhir.medication-1.0.7", "de.gematik.terminology-1.0.9",
        "de.gematik.ti-1.3.1", "hl7.fhir.uv.extensions.r4-5.3.0", "de.ihe-d.terminology-3.0.1", "hl7.fhir.r4.core-4.0.1",
        "kbv.ita.erp-1.4.1", "kbv.ita.for-1.3.1", "kbv.basis-1.7.0", "gematik.kbv.sfhir.cs.vs-1.7.0", "kbv.all.st-1.32.0",
        "de.basisprofil.r4-1.5.2",
    ]

    /// Loaded and compiled once for the test run; a failure is reported by each test that needs it.
    static let validation = Result {
        try PayloadValidation(profileDirectories: names.map { fixtures.appendingPathComponent("definitions").appendingPathComponent($0) })
    }

    /// KBV example 1 of kbv.ita.erp 1.4 (a PZN prescription with Medication, Practitioner and
    /// Organization), made out for a task's PrescriptionID and the insurant `kvnr`, written today
    /// (so still redeemable): what a prescriber's `$activate` brings, so that provide-prescription
    /// has every resource to carry.
    static func kbvPrescription(id: String, kvnr: String) throws -> Element {
        let file = fixtures.appendingPathComponent("conformance/bundle/kbv1.4.0-Beispiel_1.xml")
        let today = Date().formatted(Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "Europe/Berlin")!).year().month().day())
        let text = try String(contentsOf: file, encoding: .utf8)
            .replacingOccurrences(of: "160.100.000.000.006.24", with: id)
            .replacingOccurrences(of: "K220635158", with: kvnr)
            .replacingOccurrences(of: "2024-05-20", with: today)
        return try FHIRFormat.xml.read(Array(text.utf8)).resource
    }
}
