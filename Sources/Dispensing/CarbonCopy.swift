public import FHIRModel
public import Foundation

/// The digital carbon copy ("digitaler Durchschlag") of a completed T-Rezept (flow 166) for the
/// federal institute BfArM (A_27823, A_27826-01, A_27828): written to an outbox of its own in the
/// transaction of the `$close` (IBM: a database trigger copies every completed 166 task into
/// `trezept_event`), relayed later by the BfArM relay (ARCHITECTURE decision 13). The insurant's
/// ePA objection does not concern it: the copy is a legal duty (§ 3a AMVV), not the ePA.
public struct CarbonCopy: Sendable, Hashable {
    public var prescriptionID: PrescriptionID
    /// Sent as `Idempotency-Key`; the same for every attempt, from any instance.
    public var idempotencyKey: String
    /// `Parameters` claiming `erp-tprescription-carbon-copy|1.1`.
    public var payload: Element

    public init(prescriptionID: PrescriptionID, idempotencyKey: String, payload: Element) {
        self.prescriptionID = prescriptionID
        self.idempotencyKey = idempotencyKey
        self.payload = payload
    }
}

/// One stored carbon copy waiting in its outbox, as the relay reads it.
public struct CarbonCopyEntry: Sendable, Hashable {
    public var id: Int64
    public var prescriptionID: PrescriptionID
    public var idempotencyKey: String
    /// The Parameters as FHIR JSON, exactly as stored.
    public var body: [UInt8]
    public var attempts: Int
    public var createdAt: Date

    public init(id: Int64, prescriptionID: PrescriptionID, idempotencyKey: String, body: [UInt8], attempts: Int, createdAt: Date) {
        self.id = id
        self.prescriptionID = prescriptionID
        self.idempotencyKey = idempotencyKey
        self.body = body
        self.attempts = attempts
        self.createdAt = createdAt
    }
}

/// What became of a carbon copy (IBM `TRezeptEventProcessor`: success, retry, dead letter).
public enum CarbonCopySettlement: Sendable, Hashable {
    case sent(Int64)
    /// 401, 429, 5xx, no answer: again at `at`; counts an attempt.
    case retry(Int64, at: Date, reason: String)
    /// 400, 422 and the other 4xx (A_27830, A_27831), or too many attempts: kept for an operator.
    case deadLetter(Int64, reason: String)
}

/// The carbon-copy outbox (schema migration 11). Rows are written by `TaskStore.update` from
/// `TaskChange.carbonCopy`; the relay claims and settles them. Copies are independent of each other
/// (no order to keep), so each row is claimed on its own.
public protocol CarbonCopyStore: Sendable {
    /// Up to `limit` due copies (pending, `next_attempt_at` reached, not claimed by another holder
    /// until after `now`), oldest first, claimed for `claim.holder` until `now + claim.duration` in
    /// the same transaction as the read.
    func dueCarbonCopies(now: Date, limit: Int, claim: RelayClaim) async throws -> [CarbonCopyEntry]
    /// Applies the settlements in one transaction and lifts their claims.
    func settleCarbonCopies(_ settlements: [CarbonCopySettlement], at: Date) async throws
    func carbonCopyStatistics() async throws -> OutboxStatistics
}

/// Builds the copy of a `$close` of a 166 task (IBM `TRezeptTransformer`): the prescription
/// (signing time, PrescriptionID, MedicationRequest, Medication) and the dispensation (the
/// pharmacy, each MedicationDispense with its Medication).
///
/// Ours: IBM transforms each resource guided by the T-Prescription profiles
/// (`de.gematik.erp.t-prescription` 1.1), keeping what they allow; erx, without that package, keeps
/// the elements gematik's examples of the copy carry (IG `erp-t-prescription` 1.1.0 tests, example
/// case 01) and renames the extensions as IBM does. IBM asks the FHIR directory (VZD) for the
/// pharmacy's name, telecom and address (A_27825); erx names the pharmacy by its Telematik-ID and
/// the token's organisation name, IBM's fallback when the directory has no entry.
public enum CarbonCopies {
    public static let profile = "https://gematik.de/fhir/erp-t-prescription/StructureDefinition/erp-tprescription-carbon-copy|1.1"
    static let organizationProfile = "https://gematik.de/fhir/erp-t-prescription/StructureDefinition/erp-tprescription-organization"
    static let epa = "https://gematik.de/fhir/epa-medication/StructureDefinition/"
    static let kbv = "https://fhir.kbv.de/StructureDefinition/"
    /// IBM's value mappings of the MedicationRequest's and the Medication's extensions.
    static let renamed: [String: String] = [
        kbv + "KBV_EX_ERP_Teratogenic": epa + "teratogenic-extension",
        "Off-Label": "off-label", "GebaerfaehigeFrau": "childbearing-potential",
        "EinhaltungSicherheitsmassnahmen": "security-compliance", "AushaendigungInformationsmaterialien": "hand-out-information-material",
        "ErklaerungSachkenntnis": "declaration-of-expertise",
        kbv + "KBV_EX_ERP_Medication_Packaging": epa + "medication-formulation-packaging-extension",
        kbv + "KBV_EX_ERP_Medication_Ingredient_Form": epa + "medication-ingredient-darreichungsform-extension",
        kbv + "KBV_EX_ERP_Medication_Ingredient_Amount": epa + "medication-ingredient-amount-extension",
        kbv + "KBV_EX_ERP_Medication_PackagingSize": epa + "medication-packaging-size-extension",
    ]
    /// The MedicationRequest extensions the copy keeps (the others are KBV billing data).
    static let requestExtensions: Set<String> = [
        epa + "teratogenic-extension", "http://ig.fhir.de/igs/medication/StructureDefinition/GeneratedDosageInstructionsMeta",
        "http://hl7.org/fhir/5.0/StructureDefinition/extension-MedicationRequest.renderedDosageInstruction",
    ]
    static let requestElements: Set<String> = ["extension", "status", "intent", "medicationReference", "subject", "authoredOn",
                                               "dosageInstruction", "dispenseRequest"]
    static let medicationElements: Set<String> = ["id", "extension", "code", "form", "amount", "ingredient", "batch"]
    static let medicationExtensions: Set<String> = ["http://fhir.de/StructureDefinition/normgroesse", epa + "medication-formulation-packaging-extension"]
    static let dispenseElements: Set<String> = ["status", "medicationReference", "performer", "quantity", "whenPrepared", "whenHandedOver"]

    /// The copy a change calls for: only the `$close` of a 166 task has one. `signedAt` is the QES
    /// signing time (IBM's `prescriptionSignatureDate`); for a bundle accepted unsigned, erx writes
    /// midnight (Berlin) of `authoredOn`.
    public static func copy(
        for change: TaskChange, storedDispensations: () throws -> [Dispensation], signedAt: Date?, ids: some IDGenerator
    ) throws -> CarbonCopy? {
        let task = change.task
        guard change.audit.action == .close, task.flowType == .tPrescription, task.status == .completed,
              let bundle = task.prescription, let pharmacy = task.owner
        else { return nil }
        let set: [Dispensation]
        switch change.dispensations {
        case .replace(let stored): set = stored
        case .keep, .delete: set = try storedDispensations()
        }
        let resources = bundle.children(named: "entry").compactMap { $0.child("resource")?.wrappedResource }
        var prescription = [
            part("prescriptionSignatureDate", Element(name: "valueInstant", value: instant(signedAt, authoredOn: task.authoredOn))),
            part("prescriptionId", Element(name: "valueIdentifier", children: [
                Element(name: "system", value: Systems.prescriptionID), Element(name: "value", value: task.id.rawValue),
            ])),
        ]
        let medication = resources.first { $0.name == "Medication" }
        if let request = resources.first(where: { $0.name == "MedicationRequest" }) {
            prescription.append(resourcePart("medicationRequest", medicationRequest(request, medicationID: medication?.value(of: "id"))))
        }
        if let medication { prescription.append(resourcePart("medication", self.medication(medication))) }
        var dispensation = [resourcePart("dispenseOrganization", organization(pharmacy, name: change.audit.agentName))]
        for item in set {
            var information = [resourcePart("medicationDispense", medicationDispense(item.medicationDispense, pharmacy: pharmacy))]
            if let medication = item.medication { information.append(resourcePart("medication", self.medication(medication))) }
            dispensation.append(Element(name: "part", children: [Element(name: "name", value: "dispenseInformation")] + information))
        }
        let payload = Element(name: "Parameters", children: [
            Element(name: "meta", children: [Element(name: "profile", value: profile)]),
            Element(name: "parameter", children: [Element(name: "name", value: "rxPrescription")] + prescription),
            Element(name: "parameter", children: [Element(name: "name", value: "rxDispensation")] + dispensation),
        ])
        return CarbonCopy(prescriptionID: task.id, idempotencyKey: ids.sortableUUID(), payload: payload)
    }

    /// KBV `MedicationRequest` → `erp-tprescription-medication-request`: status `completed`, intent
    /// `order`, the subject's KVNR withheld (`data-absent-reason` `not-permitted`, as IBM writes it).
    static func medicationRequest(_ request: Element, medicationID: String?) -> Element {
        var copy = renaming(request)
        copy.children = copy.children.compactMap { child -> Element? in
            guard requestElements.contains(child.name) else { return nil }
            switch child.name {
            case "extension": return requestExtensions.contains(child.value(of: "url") ?? "") ? child : nil
            case "status": return Element(name: "status", value: "completed")
            case "intent": return Element(name: "intent", value: "order")
            case "medicationReference":
                guard let medicationID else { return child }
                return Element(name: "medicationReference", children: [Element(name: "reference", value: "urn:uuid:" + medicationID)])
            case "subject":
                let absent = Element(name: "extension", children: [
                    Element(name: "url", value: "http://hl7.org/fhir/StructureDefinition/data-absent-reason"),
                    Element(name: "valueCode", value: "not-permitted"),
                ])
                return Element(name: "subject", children: [Element(name: "identifier", children: [
                    Element(name: "system", value: Systems.kvnr), Element(name: "value", children: [absent]),
                ])])
            default: return child
            }
        }
        return copy
    }

    /// KBV or gematik `Medication` → `erp-tprescription-medication`: no `meta`, the KBV type and
    /// category extensions left out.
    static func medication(_ medication: Element) -> Element {
        var copy = renaming(medication)
        copy.children = copy.children.filter { child in
            guard medicationElements.contains(child.name) else { return false }
            return child.name != "extension" || medicationExtensions.contains(child.value(of: "url") ?? "")
        }
        return copy
    }

    /// `MedicationDispense` → `erp-tprescription-medication-dispense`: status `completed`, the
    /// pharmacy as performer; no identifier, no subject (the insurant stays unnamed).
    static func medicationDispense(_ dispense: Element, pharmacy: TelematikID) -> Element {
        var children = dispense.children.filter { dispenseElements.contains($0.name) && $0.name != "performer" }.map { child in
            child.name == "status" ? Element(name: "status", value: "completed") : child
        }
        let performer = Element(name: "performer", children: [Element(name: "actor", children: [
            Element(name: "reference", value: "Organization/" + pharmacy.rawValue),
        ])])
        // FHIR order: performer before quantity, whenPrepared and whenHandedOver.
        let position = children.firstIndex { ["quantity", "whenPrepared", "whenHandedOver"].contains($0.name) } ?? children.endIndex
        children.insert(performer, at: position)
        return Element(name: "MedicationDispense", children: children)
    }

    static func organization(_ pharmacy: TelematikID, name: String?) -> Element {
        var children = [
            Element(name: "id", value: pharmacy.rawValue),
            Element(name: "meta", children: [Element(name: "profile", value: organizationProfile)]),
            Element(name: "identifier", children: [
                Element(name: "system", value: Systems.telematikID), Element(name: "value", value: pharmacy.rawValue),
            ]),
        ]
        if let name { children.append(Element(name: "name", value: name)) }
        return Element(name: "Organization", children: children)
    }

    /// The element with every extension URL IBM maps renamed, at any depth.
    static func renaming(_ element: Element) -> Element {
        var copy = element
        if element.name == "url", let value = element.value, let new = renamed[value] { copy.value = new }
        copy.children = element.children.map(renaming)
        return copy
    }

    static func instant(_ signedAt: Date?, authoredOn: String?) -> String {
        let instant = signedAt ?? authoredOn.flatMap { day in
            CalendarDate.calendar.date(from: DateComponents(year: Int(day.prefix(4)), month: Int(day.dropFirst(5).prefix(2)),
                                                            day: Int(day.dropFirst(8).prefix(2))))
        } ?? Date(timeIntervalSince1970: 0)
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = .gmt
        return formatter.string(from: instant)
    }

    private static func part(_ name: String, _ value: Element) -> Element {
        Element(name: "part", children: [Element(name: "name", value: name), value])
    }

    private static func resourcePart(_ name: String, _ resource: Element) -> Element {
        Element(name: "part", children: [Element(name: "name", value: name), Element(name: "resource", children: [resource])])
    }
}
