public import FHIRModel

/// Typed read access to the parts of a KBV prescription bundle (`KBV_PR_ERP_Bundle`) that the
/// production service checks at `$activate` (fd-parity.md §8.2, §8.3), so the checks read names of
/// facts and not chains of child names. Views hold the tree; nothing is copied.
public struct KBVPrescriptionView: Sendable {
    public static let kbvProfilePrefix = "https://fhir.kbv.de/StructureDefinition/"
    public static let bundleProfile = kbvProfilePrefix + "KBV_PR_ERP_Bundle"
    /// The DiGA prescription (kbv.itv.evdga), the only bundle flow 162 takes (IBM `EvdgaBundle`).
    public static let healthAppBundleProfile = kbvProfilePrefix + "KBV_PR_EVDGA_Bundle"

    /// The bundle profile a task of `flowType` takes at `$activate`.
    public static func bundleProfile(for flowType: FlowType) -> String {
        flowType == .diga ? healthAppBundleProfile : bundleProfile
    }

    public let bundle: Element

    public init(_ bundle: Element) { self.bundle = bundle }

    /// Each resource with its FHIRPath in the bundle (`Bundle.entry[3].resource`).
    public var resources: [(path: String, resource: Element)] {
        bundle.children(named: "entry").enumerated().compactMap { index, entry in
            entry.child("resource")?.wrappedResource.map { ("Bundle.entry[\(index)].resource", $0) }
        }
    }

    public func resources(_ type: String) -> [(path: String, resource: Element)] {
        resources.filter { $0.resource.name == type }
    }

    /// The KBV bundle profile claimed in `meta.profile` (`…/KBV_PR_ERP_Bundle|1.1.0`, or the DiGA
    /// `…/KBV_PR_EVDGA_Bundle|1.2`), if any.
    public var claimedBundleProfile: String? {
        bundle.child("meta")?.children(named: "profile").compactMap(\.value).first {
            Self.names($0, Self.bundleProfile) || Self.names($0, Self.healthAppBundleProfile)
        }
    }

    /// Whether the bundle claims the DiGA prescription profile.
    public var isHealthAppPrescription: Bool { claimedBundleProfile.map { Self.names($0, Self.healthAppBundleProfile) } ?? false }

    public static func names(_ canonical: String, _ profile: String) -> Bool { canonical == profile || canonical.hasPrefix(profile + "|") }

    /// The claimed bundle profile's version as numbers (`|1.1.0` → `[1, 1, 0]`).
    public var claimedVersion: [Int]? {
        guard let claimed = claimedBundleProfile, let bar = claimed.firstIndex(of: "|") else { return nil }
        return claimed[claimed.index(after: bar)...].split(separator: ".").compactMap { Int($0) }
    }

    /// The MedicationRequest (`KBV_PR_ERP_Prescription`; `$activate` admits exactly one).
    public var medicationRequest: Element? { resources("MedicationRequest").first?.resource }

    /// `MedicationRequest.dispenseRequest.quantity`: the number of packages prescribed (KBV 1.1:
    /// UCUM `{Package}`; KBV 1.4: unit `Packung`).
    public var prescribedQuantity: MedicationQuantity? {
        MedicationQuantity(medicationRequest?.descendant("dispenseRequest", "quantity"))
    }

    /// Aut idem: `MedicationRequest.substitution.allowedBoolean` is `false` (the prescriber excluded
    /// substitution). Absent or `true`: substitution allowed.
    public var substitutionExcluded: Bool {
        medicationRequest?.descendant("substitution", "allowedBoolean")?.value == "false"
    }

    /// The Medication the MedicationRequest's `medicationReference` names in the bundle.
    public var prescribedMedication: Element? {
        guard let reference = medicationRequest?.descendant("medicationReference", "reference")?.value,
              let resource = bundle.resolveReference(reference), resource.name == "Medication"
        else { return nil }
        return resource
    }

    /// `KBV_EX_FOR_Legal_basis` of the Composition (`00`, `04`, `10`, …).
    public var legalBasisCode: String? {
        resources("Composition").first?.resource.extensions(Self.kbvProfilePrefix + "KBV_EX_FOR_Legal_basis").first?
            .descendant("valueCoding", "code")?.value
    }
}

/// A KBV Medication: its profile and the PZNs and category the FD checks.
public struct KBVMedication: Sendable {
    public static let pznSystem = "http://fhir.de/CodeSystem/ifa/pzn"
    public let element: Element
    public let path: String

    public init(_ element: Element, path: String) {
        self.element = element
        self.path = path
    }

    public var profiles: [String] { element.child("meta")?.children(named: "profile").compactMap(\.value) ?? [] }

    public func claims(_ name: String) -> Bool {
        let canonical = KBVPrescriptionView.kbvProfilePrefix + name
        return profiles.contains { $0 == canonical || $0.hasPrefix(canonical + "|") }
    }

    /// The PZN codes: the medication's own (`KBV_PR_ERP_Medication_PZN`) or its ingredients'
    /// (`KBV_PR_ERP_Medication_Compounding`), each with its FHIRPath.
    public var pznCodes: [(path: String, code: String)] {
        if claims("KBV_PR_ERP_Medication_PZN") {
            return Self.pzns(in: element.child("code"), path: path + ".code")
        }
        if claims("KBV_PR_ERP_Medication_Compounding") {
            return element.children(named: "ingredient").enumerated().flatMap { index, ingredient in
                Self.pzns(in: ingredient.child("itemCodeableConcept"), path: path + ".ingredient[\(index)].itemCodeableConcept")
            }
        }
        return []
    }

    /// `KBV_EX_ERP_Medication_Category`: `00` medicine, `01` BtM, `02` T-Rezept.
    public var categoryCode: String? {
        element.extensions(KBVPrescriptionView.kbvProfilePrefix + "KBV_EX_ERP_Medication_Category").first?
            .descendant("valueCoding", "code")?.value
    }

    private static func pzns(in concept: Element?, path: String) -> [(path: String, code: String)] {
        (concept?.children(named: "coding") ?? []).enumerated().compactMap { index, coding in
            guard coding.value(of: "system") == pznSystem, let code = coding.value(of: "code") else { return nil }
            return ("\(path).coding[\(index)].code", code)
        }
    }
}

/// A KBV Coverage: its type and the IKNRs the FD checks.
public struct KBVCoverage: Sendable {
    public static let alternativeIK = KBVPrescriptionView.kbvProfilePrefix + "KBV_EX_FOR_Alternative_IK"
    public let element: Element
    public let path: String

    public init(_ element: Element, path: String) {
        self.element = element
        self.path = path
    }

    /// `Coverage.type.coding.code` (`GKV`, `PKV`, `BG`, `SEL`, …).
    public var typeCode: String? { element.descendant("type", "coding", "code")?.value }
    /// `Coverage.payor.identifier.value`: the insurer's IKNR.
    public var payorIKNR: String? { element.descendant("payor", "identifier", "value")?.value }
    /// Whether the payor identifier carries `KBV_EX_FOR_Alternative_IK` at all (A_26372 asks only that).
    public var hasAlternativeIK: Bool { !(element.descendant("payor", "identifier")?.extensions(Self.alternativeIK).isEmpty ?? true) }
    /// The alternative IKNR (`KBV_EX_FOR_Alternative_IK` on the payor identifier), e.g. of an accident insurer.
    public var alternativeIKNR: String? {
        element.descendant("payor", "identifier")?.extensions(Self.alternativeIK).first?.descendant("valueIdentifier", "value")?.value
    }
}

/// The MVO extension of a MedicationRequest (`KBV_EX_ERP_Multiple_Prescription`).
public struct KBVMultiplePrescription: Sendable {
    public static let url = KBVPrescriptionView.kbvProfilePrefix + "KBV_EX_ERP_Multiple_Prescription"
    public let element: Element

    public init?(request: Element) {
        guard let element = request.extensions(Self.url).first else { return nil }
        self.element = element
    }

    private func part(_ name: String) -> Element? { element.extensions(name).first }

    /// `Kennzeichen`: whether this is part of a multiple prescription at all.
    public var isMultiple: Bool { part("Kennzeichen")?.value(of: "valueBoolean") == "true" }
    public var hasNumbering: Bool { part("Nummerierung") != nil }
    public var hasPeriod: Bool { part("Zeitraum") != nil }
    public var numerator: Int? { part("Nummerierung")?.descendant("valueRatio", "numerator", "value")?.value.flatMap(Self.integer) }
    public var denominator: Int? { part("Nummerierung")?.descendant("valueRatio", "denominator", "value")?.value.flatMap(Self.integer) }
    /// `Zeitraum.start`/`.end`: the redemption period (FHIR dates).
    public var start: String? { part("Zeitraum")?.descendant("valuePeriod", "start")?.value }
    public var end: String? { part("Zeitraum")?.descendant("valuePeriod", "end")?.value }
    /// `ID`: the MVO's id, `urn:uuid:…`.
    public var id: String? { part("ID")?.descendant("valueIdentifier", "value")?.value }

    /// A decimal written as an integer (`2`, `2.0`); the profile types these as decimals.
    private static func integer(_ text: String) -> Int? {
        guard let value = Double(text), value == value.rounded(), abs(value) < 1e6 else { return nil }
        return Int(value)
    }
}
