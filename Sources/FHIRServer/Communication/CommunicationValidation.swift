public import Dispensing
public import FHIRModel
public import FHIRValidation

/// Step 1 of `POST /Communication` (fd-messaging-transport §1.5): which accepted profile the message
/// claims, whether that version is in force today (§1.2's windows), and the validator's judgement.
///
/// The validator is whatever the server loaded: erx's own Communication StructureDefinitions
/// (workflow 1.5 and 1.6, `profiles/definitions`) and any `--profiles`. A profile it does not know
/// (the PKV billing messages' erpchrg 1.1, which erx does not ship) is not validated.
public struct CommunicationValidation: Sendable {
    let validator: ProfileValidator
    /// Whether the profile versions' validity windows apply (off for tests of old examples).
    public var windows: Bool

    public init(validator: ProfileValidator, windows: Bool = true) {
        self.validator = validator
        self.windows = windows
    }

    static let workflow = "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_Communication_"
    static let chargeItem = "https://gematik.de/fhir/erpchrg/StructureDefinition/GEM_ERPCHRG_PR_Communication_"

    /// An accepted profile: its canonical (with `|version`), kind and the German days it is in force
    /// (IBM `001_fhir-resource-groups.config.json.in`; API `erp_fhirversion_change_2026-07-01.adoc`).
    struct Accepted: Sendable {
        var kind: Communication.Kind
        var version: String
        var from: String
        var until: String
        var canonical: String {
            (kind.isChargeItemMessage ? CommunicationValidation.chargeItem : CommunicationValidation.workflow) + kind.rawValue + "|" + version
        }
    }

    static let accepted: [Accepted] = [
        // The "FdV" group: 1.5 until 2027-01-14.
        .init(kind: .dispReq, version: "1.5", from: "2025-10-01", until: "2027-01-14"),
        .init(kind: .representative, version: "1.5", from: "2025-10-01", until: "2027-01-14"),
        // The "non-FdV" group: 1.5 until 2026-09-30.
        .init(kind: .reply, version: "1.5", from: "2025-10-01", until: "2026-09-30"),
        .init(kind: .diga, version: "1.5", from: "2025-10-01", until: "2026-09-30"),
        .init(kind: .dispReq, version: "1.6", from: "2026-07-01", until: "9999-12-31"),
        .init(kind: .representative, version: "1.6", from: "2026-07-01", until: "9999-12-31"),
        .init(kind: .reply, version: "1.6", from: "2026-07-01", until: "9999-12-31"),
        .init(kind: .diga, version: "1.6", from: "2026-07-01", until: "9999-12-31"),
        .init(kind: .chargChangeReq, version: "1.1", from: "2025-10-01", until: "9999-12-31"),
        .init(kind: .chargChangeReply, version: "1.1", from: "2025-10-01", until: "9999-12-31"),
    ]

    /// The accepted profiles in force on the German day `today`.
    func inForce(on today: String) -> [Accepted] {
        Self.accepted.filter { !windows || ($0.from <= today && today <= $0.until) }
    }

    /// The kind and version the message claims; refuses as the FD does: no profile, a profile not in
    /// force today, the validator's errors (the first three in `diagnostics`), an unusable `basedOn`.
    public func check(_ resource: Element, today: String) throws(CommunicationError) -> (kind: Communication.Kind, version: String) {
        let view = CommunicationView(unchecked: resource)
        let inForce = inForce(on: today)
        let claimed = view.profiles
        guard !claimed.isEmpty else { throw .profileMissing }
        guard let match = inForce.first(where: { claimed.contains($0.canonical) }) else {
            throw .profileNotAccepted(claimed: claimed[0], accepted: inForce.map(\.canonical))
        }
        if validator.profiles.repository.structureDefinition(match.canonical) != nil {
            let errors = validator.validate(resource).issues.filter { $0.severity == .error || $0.severity == .fatal }
            if !errors.isEmpty {
                let findings = errors.prefix(3).map { "\($0.expression.first ?? "Communication"): \($0.text)" }
                throw .invalidBody(diagnostics: findings.joined(separator: " | ") + (errors.count > 3 ? " (\(errors.count) errors)" : ""))
            }
        }
        guard view.basedOn != nil else { throw .unparsableBasedOn }
        return (match.kind, match.version)
    }
}
