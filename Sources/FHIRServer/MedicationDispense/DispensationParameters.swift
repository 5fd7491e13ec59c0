public import Dispensing
public import FHIRModel
public import FHIRValidation

/// Turns a `$dispense` or `$close` body into dispensations: checks the form (workflow 1.4+
/// `Parameters`), the claimed profile, the profile-version window chosen by the latest
/// `whenHandedOver`, and validates against that profile version.
public struct DispensationParameters: Sendable {
    public enum Operation: Sendable {
        case dispense, close

        var profile: String {
            switch self {
            case .dispense: "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_PAR_DispenseOperation_Input"
            case .close: "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_PAR_CloseOperation_Input"
            }
        }
    }

    let validator: ProfileValidator
    let windows: ProfileVersionWindows

    public init(validator: ProfileValidator, windows: ProfileVersionWindows) {
        self.validator = validator
        self.windows = windows
    }

    /// The dispensations of a body, in order. An empty list means a `Parameters` without any
    /// `rxDispensation` (for `$close`: close without new data).
    public func dispensations(in resource: Element, for operation: Operation) throws(RequestError) -> [Dispensation] {
        guard resource.name == "Parameters" else {
            if resource.name == "MedicationDispense" || resource.name == "Bundle" {
                throw .legacyDispensationForm(found: resource.name)
            }
            throw .wrongResource(expected: "Parameters", found: resource.name)
        }
        let profiles = resource.child("meta")?.children(named: "profile").compactMap(\.value) ?? []
        guard profiles.count == 1, let claimed = profiles.first, claimed.hasPrefix(operation.profile + "|") else {
            throw .profileNotAllowed(expression: "Parameters.meta.profile", admitted: operation.profile + "|<version>")
        }
        let version = String(claimed[claimed.index(after: claimed.firstIndex(of: "|")!)...])
        try Self.checkSameVersion(in: resource, as: version)
        if let date = ProfileVersionWindows.latestHandover(in: resource) {
            let issues = windows.check(resource, on: date)
            if !issues.isEmpty { throw .validationFailed(issues) }
        }
        let outcome = validator.validate(resource)
        if outcome.hasErrors { throw .validationFailed(outcome.issues) }
        return Self.extract(from: resource)
    }

    /// Every gematik workflow profile claimed inside the body must have the Parameters' version
    /// (A_23384-05: one body, one workflow version).
    static func checkSameVersion(in parameters: Element, as version: String) throws(RequestError) {
        let major = version.split(separator: ".").prefix(2).joined(separator: ".")
        /// A workflow profile claimed with another version, or with none (nothing after `|`, or no `|`).
        func claimsAnother(_ canonical: String) -> Bool {
            guard canonical.hasPrefix(ProfileVersionWindows.workflowProfilePrefix) else { return false }
            guard canonical.utf8.last != UInt8(ascii: "|") else { return true }
            return ProfileVersionWindows.majorMinor(ofCanonical: canonical) != major
        }
        // Paths are made only to name an offender; nearly every body has none.
        let hasOffender = parameters.containsEmbedded { resource in
            resource.child("meta")?.children.contains { $0.name == "profile" && $0.value.map(claimsAnother) == true } == true
        }
        guard hasOffender else { return }
        for embedded in parameters.embeddedResources {
            let profiles = embedded.resource.child("meta")?.children(named: "profile").compactMap(\.value) ?? []
            if let index = profiles.firstIndex(where: claimsAnother) {
                throw .profileNotAllowed(expression: "Parameters\(embedded.path).meta.profile[\(index)]", admitted: "with the Parameters' version \(major)")
            }
        }
    }

    /// Pairs each `rxDispensation`'s `medicationDispense` with its `medication` part (the profile has
    /// already checked the shape, so a missing part here only happens for the DiGA form).
    static func extract(from parameters: Element) -> [Dispensation] {
        var result: [Dispensation] = []
        for (index, parameter) in parameters.children(named: "parameter").enumerated() where parameter.value(of: "name") == "rxDispensation" {
            let parts = parameter.children(named: "part")
            guard let mdIndex = parts.firstIndex(where: { $0.value(of: "name") == "medicationDispense" }),
                  let md = parts[mdIndex].child("resource")?.wrappedResource
            else { continue }
            let medicationIndex = parts.firstIndex { $0.value(of: "name") == "medication" }
            let medication = medicationIndex.flatMap { parts[$0].child("resource")?.wrappedResource }
            result.append(Dispensation(
                medicationDispense: md, medication: medication,
                location: "Parameters.parameter[\(index)].part[\(mdIndex)].resource",
                medicationLocation: medicationIndex.map { "Parameters.parameter[\(index)].part[\($0)].resource" }
            ))
        }
        return result
    }
}
