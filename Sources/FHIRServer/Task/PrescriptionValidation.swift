public import Dispensing
public import FHIRModel
public import FHIRValidation

/// `$activate`'s profile validation of the enclosed KBV bundle (fd-parity.md §8.1, §8.2 row 2;
/// A_19025-03): against the KBV profile version in force on its `MedicationRequest.authoredOn`
/// (IBM `KbvBundle::getValidationReferenceTimestamp`), with the FD's answer: 400
/// `FHIR-Validation error`, `SVC_VALIDATION_FAILED`, the validator's first findings in diagnostics.
public struct PrescriptionValidation: Sendable {
    let validator: ProfileValidator
    /// Which `KBV_PR_ERP_Bundle` versions (`major.minor`) are in force on which days
    /// (`profiles/kbv-versions.json`, or `--kbv-versions FILE`). A version no window names is not
    /// judged by date; empty windows judge none (tests of examples with old dates).
    let windows: ProfileVersionWindows

    public init(validator: ProfileValidator, windows: ProfileVersionWindows) {
        self.validator = validator
        self.windows = windows
    }

    /// How many validator findings go into `diagnostics`.
    static let findingsShown = 3
    static let validationFailed = PrescriptionChecks.Texts.validationFailed
    static let unintendedExtension = "Unintendierte Verwendung von Extensions an unspezifizierter Stelle"

    /// Refuses a bundle the FD's validation would refuse.
    ///
    /// A bundle that claims no `KBV_PR_ERP_Bundle` profile is refused as the FD refuses it
    /// (`FHIR-Validation error`), unless `admittingUnprofiled` — ours, only in the development mode
    /// `--accept-unsigned`: there the minimal bundles of conformance and load suites (signed or
    /// not) pass unvalidated, and only their PrescriptionID is checked (``PrescriptionChecks``).
    ///
    /// A task of flow 162 takes only the DiGA prescription (`KBV_PR_EVDGA_Bundle`), every other flow
    /// only `KBV_PR_ERP_Bundle` (IBM reads the body as `EvdgaBundle` or `KbvBundle` by the task's type
    /// and validates it against that profile). The evDGA versions have no date windows here (ours:
    /// only the one version 1.2 is shipped).
    public func validate(_ bundle: Element, flowType: FlowType = .gkvPharmacy, admittingUnprofiled: Bool = false) throws(DispensingError) {
        let view = KBVPrescriptionView(bundle)
        let expected = KBVPrescriptionView.bundleProfile(for: flowType)
        guard let claimed = view.claimedBundleProfile, KBVPrescriptionView.names(claimed, expected) else {
            if admittingUnprofiled, view.claimedBundleProfile == nil { return }
            let name = expected.dropFirst(KBVPrescriptionView.kbvProfilePrefix.count)
            throw Self.refused(diagnostics: "The bundle claims no \(name) profile (Bundle.meta.profile).", at: "Bundle.meta.profile")
        }
        let request = flowType == .diga ? "DeviceRequest" : "MedicationRequest"
        let authoredOn = view.resources(request).first?.resource.value(of: "authoredOn").flatMap(CalendarDate.datePart(of:))
        if flowType != .diga, let version = ProfileVersionWindows.majorMinor(ofCanonical: claimed), let authoredOn,
           windows.windows.contains(where: { $0.version == version })
        {
            let inForce = windows.versions(on: authoredOn)
            if !inForce.contains(version) {
                throw Self.refused(
                    diagnostics: "KBV_PR_ERP_Bundle version \(version) is not in force on \(authoredOn) (MedicationRequest.authoredOn); "
                        + "in force then: \(inForce.isEmpty ? "none" : inForce.joined(separator: ", "))",
                    at: "Bundle.meta.profile")
            }
        }
        guard validator.profiles.repository.structureDefinition(claimed) != nil else {
            throw Self.refused(diagnostics: "The profile \(claimed) is unknown to this server: profile unknown.", at: "Bundle.meta.profile")
        }
        // A_22925: the PZN length, with the requirement's text (fd-parity §8.2 "PZN length disagreement").
        if let path = PrescriptionChecks.pznOfWrongLength(in: bundle) { throw PrescriptionChecks.pznLength(at: path) }
        let errors = validator.validate(bundle).issues.filter { $0.severity == .error || $0.severity == .fatal }
        guard !errors.isEmpty else { return }
        // A_22927-03: an extension no slice admits has its own text.
        let unsliced = errors.contains { $0.code == .extension }
        let findings = errors.prefix(Self.findingsShown).map { "\($0.expression.first ?? "Bundle"): \($0.text)" }
        throw .prescriptionRefused(.init(
            .content, text: unsliced ? Self.unintendedExtension : Self.validationFailed, detailCode: "SVC_VALIDATION_FAILED",
            expression: errors[0].expression.first,
            diagnostics: findings.joined(separator: " | ") + (errors.count > Self.findingsShown ? " (\(errors.count) errors)" : "")))
    }

    static func refused(diagnostics: String, at expression: String) -> DispensingError {
        .prescriptionRefused(.init(.content, text: validationFailed, detailCode: "SVC_VALIDATION_FAILED", expression: expression,
                                   diagnostics: diagnostics))
    }
}
