import FHIRModel

/// The prescriber's KBV resources as the ePA medication service takes them in
/// `$provide-prescription-erp` (A_25946, table Tab_eRPFD_019): each moved to its ePA target
/// profile, with the table's exceptions applied; every other value and extension is carried over
/// as it is (A_25948, A_25949).
///
/// The resources reference each other inside the Parameters as `Medication/<id>`, as the
/// dispensation's do (dispense-spec.md §5.4): a bundle's `urn:uuid:` has no meaning there.
enum EpaPrescriptionMapping {
    static let kbv = "https://fhir.kbv.de/StructureDefinition/"
    static let directory = "https://gematik.de/fhir/directory/StructureDefinition/"

    /// Extensions of `KBV_PR_ERP_Prescription` the table leaves out: Zuzahlungsstatus,
    /// Notdienstgebuehr, Unfallinformationen and Dosierungskennzeichen (on the MedicationRequest
    /// since KBV 1.4, on `dosageInstruction` before).
    static let requestExtensionsLeftOut: Set<String> = [
        kbv + "KBV_EX_FOR_StatusCoPayment", kbv + "KBV_EX_ERP_EmergencyServicesFee", kbv + "KBV_EX_FOR_Accident",
        kbv + "KBV_EX_ERP_DosageFlag",
    ]
    /// `extension:Kategorie` (the KBV medication type) is left out of the PZN and compounding
    /// medications, and only of those.
    static let medicationTypeExtension = kbv + "KBV_EX_Base_Medication_Type"
    static let medicationsWithoutType = [kbv + "KBV_PR_ERP_Medication_PZN", kbv + "KBV_PR_ERP_Medication_Compounding"]

    /// `KBV_PR_ERP_Prescription` → `epa-medication-request`: intent `filler-order`; no `insurance`,
    /// no `requester.reference` and no `subject.reference`. The subject is named by the insurant's
    /// KVNR instead (R4 requires a subject; the ePA profile types `subject.identifier` as KVID-10):
    /// the one `$activate` took from the bundle's Patient, which is not itself transferred.
    static func medicationRequest(_ request: Element, kvnr: KVNR, medication: Element?) -> Element {
        var copy = request.settingProfile(EpaPayload.profileBase + "epa-medication-request")
        copy.children.removeAll { $0.name == "insurance" || isLeftOut($0) }
        copy.children = copy.children.map { child in
            switch child.name {
            case "intent": return Element(name: "intent", value: "filler-order")
            case "dosageInstruction":
                var dosage = child
                dosage.children.removeAll(where: isLeftOut)
                return dosage
            default: return child
            }
        }
        copy = copy.removingReference(of: "requester")
        if let index = copy.children.firstIndex(where: { $0.name == "subject" }) {
            var subject = copy.children[index]
            subject.children.removeAll { $0.name == "reference" || $0.name == "identifier" }
            let position = subject.children.firstIndex { $0.name == "display" } ?? subject.children.endIndex
            subject.children.insert(Element(name: "identifier", children: [
                Element(name: "system", value: Systems.kvnr), Element(name: "value", value: kvnr.rawValue),
            ]), at: position)
            copy.children[index] = subject
        }
        if let id = medication?.value(of: "id") { copy = copy.settingMedicationReference("Medication/" + id) }
        return copy
    }

    /// `KBV_PR_ERP_Medication_*` → `epa-medication`.
    static func medication(_ medication: Element) -> Element {
        let claimed = medication.child("meta")?.children(named: "profile").compactMap(\.value) ?? []
        var copy = medication.settingProfile(EpaPayload.profileBase + "epa-medication")
        if claimed.contains(where: { profile in medicationsWithoutType.contains { profile.hasPrefix($0) } }) {
            copy.children.removeAll { $0.name == "extension" && $0.value(of: "url") == medicationTypeExtension }
        }
        return copy
    }

    /// `KBV_PR_FOR_Practitioner` → `PractitionerDirectory`, whose names have a `text` (1..1 there,
    /// absent in KBV names): written from the name's parts. The table sets the doctor's Telematik-ID
    /// from the QES certificate; erx does not read it from the signature yet, so none is set.
    static func practitioner(_ practitioner: Element) -> Element {
        var copy = practitioner.settingDirectoryProfile(directory + "PractitionerDirectory")
        copy.children = copy.children.map { $0.name == "name" ? withText($0) : $0 }
        return copy
    }

    /// A_25947: the pharmacy of a dispensation as an `OrganizationDirectory` of its Telematik-ID and
    /// the name its token gives (none when the token has none).
    static func pharmacy(_ telematikID: TelematikID, name: String?) -> Element {
        var children = [
            Element(name: "meta", children: [
                Element(name: "profile", value: directory + "OrganizationDirectory"), originTag,
            ]),
            Element(name: "identifier", children: [
                Element(name: "system", value: Systems.telematikID), Element(name: "value", value: telematikID.rawValue),
            ]),
        ]
        if let name { children.append(Element(name: "name", value: name)) }
        return Element(name: "Organization", children: children)
    }

    /// The directory profiles require `meta.tag:Origin`. The FD takes its directory data from the
    /// TI's identities (token, KBV bundle), which the directory itself synchronises from LDAP.
    static let originTag = Element(name: "tag", children: [
        Element(name: "system", value: "https://gematik.de/fhir/directory/CodeSystem/Origin"), Element(name: "code", value: "ldap"),
    ])

    /// A HumanName with `text` made of its prefixes, given names and family name, unless it has one.
    static func withText(_ name: Element) -> Element {
        guard name.child("text") == nil else { return name }
        let words = (name.children(named: "prefix") + name.children(named: "given") + name.children(named: "family")).compactMap(\.value)
        guard !words.isEmpty else { return name }
        var copy = name
        let position = copy.children.firstIndex { !["id", "extension", "use"].contains($0.name) } ?? copy.children.endIndex
        copy.children.insert(Element(name: "text", value: words.joined(separator: " ")), at: position)
        return copy
    }

    /// `KBV_PR_FOR_Organization` → `OrganizationDirectory`, its Telematik-ID overwritten with that of
    /// the caller of `$activate` (the table: from the user information of the operation call).
    static func organization(_ organization: Element, telematikID: String?) -> Element {
        var copy = organization.settingDirectoryProfile(directory + "OrganizationDirectory")
        guard let telematikID else { return copy }
        copy.children.removeAll { $0.name == "identifier" && $0.value(of: "system") == Systems.telematikID }
        let identifier = Element(name: "identifier", children: [
            Element(name: "system", value: Systems.telematikID), Element(name: "value", value: telematikID),
        ])
        let position = copy.children.firstIndex { !["id", "meta", "implicitRules", "language", "text", "contained", "extension",
                                                     "modifierExtension"].contains($0.name) } ?? copy.children.endIndex
        copy.children.insert(identifier, at: position)
        return copy
    }

    private static func isLeftOut(_ element: Element) -> Bool {
        element.name == "extension" && element.value(of: "url").map(requestExtensionsLeftOut.contains) == true
    }
}

extension Element {
    /// The resource with `meta.profile` set to a directory profile and the Origin tag it requires.
    func settingDirectoryProfile(_ profile: String) -> Element {
        var copy = settingProfile(profile)
        guard let index = copy.children.firstIndex(where: { $0.name == "meta" }) else { return copy }
        copy.children[index].children.removeAll { $0.name == "tag" && $0.value(of: "system") == EpaPrescriptionMapping.originTag.value(of: "system") }
        copy.children[index].children.append(EpaPrescriptionMapping.originTag)
        return copy
    }

    /// The resource without `name.reference`; the element goes too when nothing else is left in it.
    func removingReference(of name: String) -> Element {
        var copy = self
        guard let index = copy.children.firstIndex(where: { $0.name == name }) else { return copy }
        copy.children[index].children.removeAll { $0.name == "reference" }
        if copy.children[index].children.isEmpty { copy.children.remove(at: index) }
        return copy
    }
}
