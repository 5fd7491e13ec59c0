import FHIRFormats
import FHIRModel
import FHIRValidation
import Foundation
import Testing

/// The validator against the official packages agrees with the corpus: every `$dispense`/`$close` body,
/// MedicationDispense and Medication marked `valid` gets no error, every one marked `invalid` gets one.
struct CorpusAgreementTests {
    static let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures")

    /// All official packages, loaded once; `nil` without `../shared`.
    static let repository: ProfileRepository? = {
        let definitions = shared.appendingPathComponent("definitions")
        guard FileManager.default.fileExists(atPath: definitions.path) else { return nil }
        var repository = ProfileRepository()
        let packages = (try? FileManager.default.contentsOfDirectory(atPath: definitions.path)) ?? []
        for package in packages.sorted() {
            try? repository.load(directory: definitions.appendingPathComponent(package))
        }
        return repository
    }()

    /// One validator over all official packages, built once for the suite.
    static let validator: ProfileValidator? = repository.map { ProfileValidator(profiles: CompiledProfiles(repository: $0)) }

    struct Row: Sendable, CustomStringConvertible {
        let file: String
        let category: String
        let expected: String
        var description: String { file }
    }

    static let categories: Set<String> = ["dispense-request", "close-request", "medication-dispense", "medication"]

    static var rows: [Row] {
        guard let manifest = try? String(contentsOf: shared.appendingPathComponent("MANIFEST.tsv"), encoding: .utf8) else {
            return []
        }
        return manifest.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count > 7, categories.contains(fields[5]), fields[7] == "valid" || fields[7] == "invalid" else { return nil }
            return Row(file: fields[0], category: fields[5], expected: fields[7])
        }
    }

    /// Files whose verdict we knowingly do not share, with the reason. Each was checked by hand against
    /// the official definitions; the test fails when one of them starts to agree.
    static let exceptions: [String: String] = [
        "conformance/close-request/e2etest-invalid-erp-eu-builderMade-euCloseOperationInputByBuilder.xml":
            "claims the GEM_ERPEU (EU prescription) profiles, whose package is not in the corpus: no error can be found",
        "conformance/dispense-request/api2025-01-15-erp_eml-epa-notes-02_Parameters-ExampleDispenseInputParametersMultipleMedicationDispenses.xml":
            "the second Medication claims only epa-medication-pzn-ingredient; the Parameters profile types the part as GEM_ERP_PR_Medication, whose meta.profile is fixed",
        "conformance/dispense-request/api2025-10-01-erp_eml-epa-notes-02_Parameters-ExampleDispenseInputParametersMultipleMedicationDispenses.xml":
            "the second Medication claims only epa-medication-pzn-ingredient; the Parameters profile types the part as GEM_ERP_PR_Medication, whose meta.profile slicing is closed",
        "conformance/medication-dispense/api2024-11-01-erp_diga-04_medication_dispense_diga.json":
            "uses the extension URL GEM-ERP-EX-RedeemCode (hyphens; the profile's is GEM_ERP_EX_RedeemCode) and a DigaVeId identifier where DiGA 1.4 fixes the PZN system",
        "conformance/medication-dispense/api2024-11-01-erp_diga-06_medication_dispense_diga.xml":
            "uses the extension URL GEM-ERP-EX-RedeemCode (hyphens), which no package defines",
        "conformance/medication/api2025-10-01-erp_eml-epa-notes-11_ibm_medication_compounding.xml":
            "sets strength.numerator.system and .code, which KBV_PR_ERP_Medication_Compounding 1.3 forbids (0..0)",
    ]

    /// The validation context of an IG example: its workflow package version, from the file name prefix
    /// (the unversioned ePA profiles those examples claim changed between the packages).
    static func package(of file: String) -> String? {
        let name = (file as NSString).lastPathComponent
        guard name.hasPrefix("ig-wf"), let end = name.dropFirst(5).firstIndex(of: "-") else { return nil }
        return "de.gematik.erezept-workflow.r4#\(name[name.index(name.startIndex, offsetBy: 5)..<end])"
    }

    @Test func corpusAgreement() throws {
        guard let validator = Self.validator else {
            print("skipped: ../shared/fixtures not present")
            return
        }
        var disagreements: [String] = []
        for row in Self.rows where Self.exceptions[row.file] == nil {
            let bytes = Array(try Data(contentsOf: Self.shared.appendingPathComponent(row.file)))
            guard let format = FHIRFormat.sniff(bytes) else { continue }
            let resource: Element
            do {
                resource = try format.read(bytes).resource
            } catch {
                if row.expected == "valid" { disagreements.append("\(row.file): unreadable: \(error.issue.text)") }
                continue
            }
            let outcome = validator.validate(resource, package: Self.package(of: row.file))
            let errors = outcome.issues.filter { $0.severity == .error || $0.severity == .fatal }
            if row.expected == "valid" && !errors.isEmpty {
                let detail = errors.prefix(3).map { "\($0.expression.first ?? ""): \($0.text)" }.joined(separator: " | ")
                disagreements.append("\(row.file): \(errors.count) errors: \(detail)")
            } else if row.expected == "invalid" && errors.isEmpty {
                disagreements.append("\(row.file): marked invalid, but no error")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements:\n\(disagreements.joined(separator: "\n"))")
    }

    /// The listed exceptions still disagree (otherwise the list is stale).
    @Test func exceptionsStillDisagree() throws {
        guard let validator = Self.validator else { return }
        for (file, reason) in Self.exceptions {
            let bytes = Array(try Data(contentsOf: Self.shared.appendingPathComponent(file)))
            let resource = try #require(FHIRFormat.sniff(bytes)).read(bytes).resource
            let hasErrors = validator.validate(resource, package: Self.package(of: file)).hasErrors
            let expected = Self.rows.first { $0.file == file }?.expected
            #expect(hasErrors == (expected == "valid"), "\(file) now agrees with the manifest (\(reason))")
        }
    }
}
