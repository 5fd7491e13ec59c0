import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRValidation
import Foundation
import Testing

/// Our own KBV e-prescription definitions (kbv.ita.erp 1.3 and 1.4, with kbv.ita.for 1.2 and 1.3) agree
/// with the corpus without any official package: every KBV prescription of those versions that
/// `MANIFEST.tsv` marks `valid` gets no error, every one marked `invalid` gets one. Altered copies of two
/// official examples check that the rules an FD relies on are really in force.
struct KBVProfileAgreementTests {
    static let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures")

    /// Only what erx ships: R4 core and `profiles/definitions`.
    static let validator = ProfileValidator(profiles: CompiledProfiles(repository: try! ErxProfiles.repository()))

    struct Row: Sendable, CustomStringConvertible {
        let file: String
        let profile: String
        let expected: String
        var description: String { file }
    }

    /// The KBV e-prescription versions our definitions cover.
    static let versions: Set<String> = ["1.3", "1.4"]

    static var rows: [Row] {
        guard let manifest = try? String(contentsOf: shared.appendingPathComponent("MANIFEST.tsv"), encoding: .utf8) else {
            return []
        }
        return manifest.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count > 7, fields[7] == "valid" || fields[7] == "invalid" else { return nil }
            let canonical = fields[6].split(separator: "|", maxSplits: 1).map(String.init)
            guard canonical.count == 2, canonical[0].hasPrefix("https://fhir.kbv.de/StructureDefinition/KBV_PR_ERP_"),
                versions.contains(canonical[1])
            else { return nil }
            return Row(file: fields[0], profile: fields[6], expected: fields[7])
        }
    }

    /// Files whose verdict we knowingly do not share, with the reason (the same as with the official
    /// packages, see `CorpusAgreementTests.exceptions`); the test fails when one of them starts to agree.
    static let exceptions: [String: String] = [
        "conformance/medication/api2025-10-01-erp_eml-epa-notes-11_ibm_medication_compounding.xml":
            "sets strength.numerator.system and .code, which KBV_PR_ERP_Medication_Compounding 1.3 forbids (0..0)",
    ]

    static func read(_ bytes: [UInt8]) throws -> Element {
        try #require(FHIRFormat.sniff(bytes)).read(bytes).resource
    }

    static func errors(_ outcome: OperationOutcome) -> [OperationOutcome.Issue] {
        outcome.issues.filter { $0.severity == .error || $0.severity == .fatal }
    }

    @Test func corpusAgreement() throws {
        let rows = Self.rows
        guard !rows.isEmpty else {
            print("skipped: ../shared/fixtures not present")
            return
        }
        // 1.3.2 examples (XML and JSON), 1.4.0 examples, the API and end-to-end examples.
        #expect(rows.count >= 40)
        let disagreements = try Self.disagreements(rows.filter { Self.exceptions[$0.file] == nil })
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements:\n\(disagreements.joined(separator: "\n"))")
    }

    /// What our definitions alone say of each row against the manifest's verdict: a `valid` file with
    /// errors, an `invalid` one without, or anything it claims or uses that they do not define.
    static func disagreements(_ rows: [Row]) throws -> [String] {
        var disagreements: [String] = []
        for row in rows {
            let resource = try read(Array(try Data(contentsOf: shared.appendingPathComponent(row.file))))
            let outcome = validator.validate(resource)
            let errors = errors(outcome)
            if row.expected == "valid" && !errors.isEmpty {
                let detail = errors.prefix(3).map { "\($0.expression.first ?? ""): \($0.text)" }.joined(separator: " | ")
                disagreements.append("\(row.file): \(errors.count) errors: \(detail)")
            } else if row.expected == "invalid" && errors.isEmpty {
                disagreements.append("\(row.file): marked invalid, but no error")
            }
            let unresolved = outcome.issues.filter { $0.text.contains("could not be resolved; checked against the base") }
            if !unresolved.isEmpty {
                disagreements.append("\(row.file): \(unresolved.map(\.text).joined(separator: " | "))")
            }
        }
        return disagreements
    }

    /// The listed exceptions still disagree (otherwise the list is stale).
    @Test func exceptionsStillDisagree() throws {
        for (file, reason) in Self.exceptions {
            let resource = try Self.read(Array(try Data(contentsOf: Self.shared.appendingPathComponent(file))))
            let hasErrors = Self.validator.validate(resource).hasErrors
            let expected = Self.rows.first { $0.file == file }?.expected
            #expect(hasErrors == (expected == "valid"), "\(file) now agrees with the manifest (\(reason))")
        }
    }

    /// One change to an official example and the error it must cause (a text the issue contains).
    struct Alteration: Sendable, CustomStringConvertible {
        let name: String
        let pattern: String
        let replacement: String
        let error: String
        var description: String { name }
    }

    static let alterations: [Alteration] = [
        // The PZN has exactly 8 digits (-erp-begrenzungPznCode on KBV_PR_ERP_Medication_PZN.code.coding:pzn).
        Alteration(name: "PZN of 7 digits", pattern: #"(ifa/pzn" />\s*<code value=")(\d{7})\d"#, replacement: "$1$2",
                   error: "-erp-begrenzungPznCode"),
        Alteration(name: "PZN of 9 digits", pattern: #"(ifa/pzn" />\s*<code value=")(\d{8})"#, replacement: "$1$21",
                   error: "-erp-begrenzungPznCode"),
        // The KVNR: one capital letter and nine digits (-for-laengeVersichertenId).
        Alteration(name: "KVNR in lower case", pattern: #"(kvid-10" />\s*<value value=")K"#, replacement: "$1k",
                   error: "-for-laengeVersichertenId"),
        Alteration(name: "PrescriptionID system", pattern: "NamingSystem/GEM_ERP_NS_PrescriptionId",
                   replacement: "NamingSystem/GEM_ERP_NS_PrescriptionID", error: "Bundle.identifier.system"),
        Alteration(name: "Bundle type", pattern: #"<type value="document" />"#, replacement: #"<type value="collection" />"#,
                   error: "Bundle.type"),
        Alteration(name: "Statuskennzeichen", pattern: #"(KBV_CS_SFHIR_KBV_STATUSKENNZEICHEN" />\s*<code value=")00"#,
                   replacement: "$199", error: "KBV_VS_SFHIR_KBV_STATUSKENNZEICHEN"),
        Alteration(name: "medication category", pattern: #"(KBV_CS_ERP_Medication_Category" />\s*<code value=")00"#,
                   replacement: "$109", error: "KBV_VS_ERP_Medication_Category"),
        Alteration(name: "coverage type", pattern: #"(versicherungsart-de-basis" />\s*<code value=")GKV"#,
                   replacement: "$1XYZ", error: "KBV_VS_FOR_Payor_type"),
        Alteration(name: "no Zuzahlungsstatus for GKV", pattern: #"<extension url="https://fhir.kbv.de/StructureDefinition/KBV_EX_FOR_StatusCoPayment">\s*<valueCoding>\s*<system value="[^"]*" />\s*<code value="\d" />\s*</valueCoding>\s*</extension>"#,
                   replacement: "", error: "-erp-angabeZuzahlungsstatusPflicht"),
        Alteration(name: "validity period given", pattern: #"<dispenseRequest>\s*<quantity>"#,
                   replacement: "<dispenseRequest><validityPeriod><start value=\"2020-01-01\" /></validityPeriod><quantity>",
                   error: "dispenseRequest.validityPeriod"),
        Alteration(name: "quantity not in packages", pattern: #"(<quantity>\s*<value value="\d+" />\s*<unit value=")Packung"#,
                   replacement: "$1Stück", error: "dispenseRequest.quantity.unit"),
    ]

    static let alteredExamples = ["conformance/bundle/kbv1.3.2-Beispiel_1_PZN.xml", "conformance/bundle/kbv1.4.0-Beispiel_1.xml"]

    @Test(arguments: alterations) func alteredExampleIsRefused(_ alteration: Alteration) throws {
        for file in Self.alteredExamples {
            let url = Self.shared.appendingPathComponent(file)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                print("skipped: ../shared/fixtures not present")
                return
            }
            let altered = text.replacingOccurrences(of: alteration.pattern, with: alteration.replacement, options: .regularExpression)
            #expect(altered != text, "\(alteration.name): the pattern does not occur in \(file)")
            let errors = Self.errors(Self.validator.validate(try Self.read(Array(altered.utf8))))
            #expect(errors.contains { $0.text.contains(alteration.error) || ($0.expression.first ?? "").contains(alteration.error) },
                    "\(alteration.name) in \(file): expected an error about \(alteration.error), got \(errors.map(\.text))")
        }
    }
}
