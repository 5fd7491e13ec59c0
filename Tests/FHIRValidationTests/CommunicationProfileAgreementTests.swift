import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRValidation
import Foundation
import Testing

/// Our own definitions of the FD's Communication profiles (workflow 1.5 and 1.6: DispReq, Reply,
/// Representative, DiGA; `scripts/communication_profiles.py`) agree with the corpus without any
/// official package: every such Communication the manifest marks `valid` gets no error, every one
/// marked `invalid` gets one. Altered copies of the official examples check that the rules the FD's
/// `POST /Communication` relies on (A_19450-01, the profile's cardinalities and the payload
/// invariant) are in force.
struct CommunicationProfileAgreementTests {
    static let shared = KBVProfileAgreementTests.shared
    static let validator = KBVProfileAgreementTests.validator

    static let versions: Set<String> = ["1.5", "1.6"]

    static var rows: [KBVProfileAgreementTests.Row] {
        guard let manifest = try? String(contentsOf: shared.appendingPathComponent("MANIFEST.tsv"), encoding: .utf8) else {
            return []
        }
        return manifest.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count > 7, fields[7] == "valid" || fields[7] == "invalid" else { return nil }
            let canonical = fields[6].split(separator: "|", maxSplits: 1).map(String.init)
            guard canonical.count == 2,
                canonical[0].hasPrefix("https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_Communication_"),
                versions.contains(canonical[1])
            else { return nil }
            return KBVProfileAgreementTests.Row(file: fields[0], profile: fields[6], expected: fields[7])
        }
    }

    @Test func corpusAgreement() throws {
        let rows = Self.rows
        guard !rows.isEmpty else {
            print("skipped: ../shared/fixtures not present")
            return
        }
        #expect(rows.count >= 12)
        let disagreements = try KBVProfileAgreementTests.disagreements(rows)
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements:\n\(disagreements.joined(separator: "\n"))")
    }

    /// One change to an official example (JSON) and the error it must cause.
    struct Alteration: Sendable, CustomStringConvertible {
        let name: String
        let file: String
        let pattern: String
        let replacement: String
        let error: String
        var description: String { name }
    }

    static let dispReq = "conformance/other/ig-wf1.6.0-Communication-a218a36e-f2fd-4603-ba67-c827acfef01b.json"
    static let reply = "conformance/other/ig-wf1.6.0-Communication-7977a4ab-97a9-4d95-afb3-6c4c1e2ac596.json"

    static let alterations: [Alteration] = [
        // The flow type extension is required on a DispReq (GEM_ERP_PR_Communication_DispReq.extension:flowType 1..1).
        Alteration(name: "DispReq without flow type", file: dispReq,
                   pattern: #""url"\s*:\s*"https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_EX_PrescriptionType""#,
                   replacement: #""url": "https://example.org/other""#, error: "Communication.extension"),
        // A DiGA assignment (flow 162) carries no payload (workflow-communication-payload-1).
        Alteration(name: "DispReq for flow 162 with payload", file: dispReq, pattern: #""code"\s*:\s*"160""#,
                   replacement: #""code": "162""#, error: "workflow-communication-payload-1"),
        // An unknown flow type code (required binding to GEM_ERP_VS_FlowType).
        Alteration(name: "unknown flow type", file: dispReq, pattern: #""code"\s*:\s*"160""#,
                   replacement: #""code": "999""#, error: "GEM_ERP_VS_FlowType"),
        // `status` is fixed to `unknown`.
        Alteration(name: "status completed", file: reply, pattern: #""status"\s*:\s*"unknown""#,
                   replacement: #""status": "completed""#, error: "Communication.status"),
        // A Reply is based on exactly one Task.
        Alteration(name: "Reply without basedOn", file: reply, pattern: #""basedOn"\s*:\s*\[[^\]]*\],"#, replacement: "",
                   error: "Communication.basedOn"),
    ]

    @Test(arguments: alterations) func alteredExampleIsRefused(_ alteration: Alteration) throws {
        guard let text = try? String(contentsOf: Self.shared.appendingPathComponent(alteration.file), encoding: .utf8) else {
            print("skipped: ../shared/fixtures not present")
            return
        }
        let altered = text.replacingOccurrences(of: alteration.pattern, with: alteration.replacement, options: .regularExpression)
        #expect(altered != text, "\(alteration.name): the pattern does not occur in \(alteration.file)")
        let resource = try KBVProfileAgreementTests.read(Array(altered.utf8))
        let errors = KBVProfileAgreementTests.errors(Self.validator.validate(resource))
        #expect(errors.contains { $0.text.contains(alteration.error) || ($0.expression.first ?? "").contains(alteration.error) },
                "\(alteration.name): expected an error about \(alteration.error), got \(errors.map(\.text))")
    }
}
