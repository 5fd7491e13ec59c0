public import FHIRModel
public import Foundation

/// The rules of ``DispensingPolicy/strict`` (ARCHITECTURE decision 14): ours, the production
/// service has none of them. Pure functions over the dispensation set the task will hold and the
/// KBV prescription it was activated with; each refusal names the offending element of the request
/// body by its FHIRPath (or, for the stored set `$close` keeps, the stored resource by its id).
///
/// Order: the batch expiry (element by element), then the substitution (dispensation by
/// dispensation), then the quantity (over the whole set). A body that breaks several rules gets the
/// answer of the first.
public enum StrictDispenseRules {
    static func check(_ set: [Dispensation], prescription: KBVPrescriptionView?) throws(DispensingError) {
        try expiry(set)
        guard let prescription else { return }
        try substitution(set, prescription: prescription)
        try quantity(set, prescription: prescription)
    }

    /// A batch whose `expirationDate` lies before the day of `whenHandedOver` (ARCHITECTURE decision 4;
    /// strict only since decision 14: the FD stores such a dispensation). Compared by calendar day, so
    /// a batch that expires on the hand-over day may still be handed over; an expiry given only as a
    /// month (`2025-03`, as on a pack) is not compared.
    static func expiry(_ set: [Dispensation]) throws(DispensingError) {
        for dispensation in set {
            if let handedOver = dispensation.medicationDispense.value(of: "whenHandedOver").flatMap(CalendarDate.datePart(of:)),
               let expiry = dispensation.medication?.descendant("batch", "expirationDate")?.value,
               let expiryDay = CalendarDate.datePart(of: expiry), expiryDay < handedOver {
                let medication = dispensation.medicationLocation ?? "Medication"
                throw .expiredMedicationDispensed(expression: "\(medication).batch.expirationDate")
            }
        }
    }

    /// Aut idem: the prescriber excluded substitution (`MedicationRequest.substitution.allowedBoolean`
    /// `false`), so every dispensed Medication must carry the prescribed PZN. The rule compares PZNs
    /// only (`Medication.code.coding` of system `http://fhir.de/CodeSystem/ifa/pzn`, as written): when
    /// the prescription names no PZN (a compounding, free-text or ingredient prescription) or a
    /// dispensed Medication carries none (a compounding made up in the pharmacy, a DiGA), there is no
    /// product to compare and the rule does not apply. It knows no exceptions of the framework
    /// contract (§ 129 SGB V: e.g. a product that cannot be had): those need the pharmacy's own
    /// documentation, which `strict` does not read.
    static func substitution(_ set: [Dispensation], prescription: KBVPrescriptionView) throws(DispensingError) {
        guard prescription.substitutionExcluded, let prescribed = prescription.prescribedMedication else { return }
        let prescribedPZNs = Set(pzns(of: prescribed).map(\.code))
        guard !prescribedPZNs.isEmpty else { return }
        for dispensation in set {
            guard let medication = dispensation.medication else { continue }
            let dispensed = pzns(of: medication)
            guard let first = dispensed.first, !dispensed.contains(where: { prescribedPZNs.contains($0.code) }) else { continue }
            let location = dispensation.medicationLocation ?? "Medication"
            throw .substitutionExcluded(expression: "\(location).code.coding[\(first.index)].code")
        }
    }

    /// More dispensed than prescribed: the sum of `MedicationDispense.quantity` over the set exceeds
    /// `MedicationRequest.dispenseRequest.quantity` (the number of packages the KBV prescription
    /// names). Only quantities comparable with the prescribed one are added (``MedicationQuantity``):
    /// a dispensation without a quantity, or with one in another unit (tablets, millilitres against
    /// packages), is left out and never refused for it. Left out, it can only make the sum smaller,
    /// so a refusal is always right; only an excess hidden in such a unit goes unnoticed. Packages are
    /// counted as packages, whatever they hold: a prescription of 2 × 50 tablets dispensed as
    /// 5 × 20 is 5 packages and refused.
    ///
    /// The expression names the quantity of the dispensation that took the sum over the prescribed.
    static func quantity(_ set: [Dispensation], prescription: KBVPrescriptionView) throws(DispensingError) {
        guard let prescribed = prescription.prescribedQuantity else { return }
        let counted = set.compactMap { dispensation -> (expression: String, value: Decimal)? in
            guard let quantity = MedicationQuantity(dispensation.medicationDispense.child("quantity")),
                  quantity.isComparable(with: prescribed)
            else { return nil }
            return ("\(dispensation.location).quantity", quantity.value)
        }
        let total = counted.reduce(Decimal(0)) { $0 + $1.value }
        guard total > prescribed.value else { return }
        var running = Decimal(0)
        for item in counted {
            running += item.value
            if running > prescribed.value {
                throw .quantityExceedsPrescription(
                    expression: item.expression, dispensed: "\(total)", prescribed: "\(prescribed.value)", unit: prescribed.unitName
                )
            }
        }
    }

    /// The PZNs of a Medication's own code, each with its `coding` index. Ingredients' PZNs (a KBV
    /// compounding) are not the product's.
    static func pzns(of medication: Element) -> [(index: Int, code: String)] {
        (medication.child("code")?.children(named: "coding") ?? []).enumerated().compactMap { index, coding in
            guard coding.value(of: "system") == KBVMedication.pznSystem, let code = coding.value(of: "code") else { return nil }
            return (index, code)
        }
    }
}

/// A FHIR (Simple)Quantity of medicine, as a prescription or a dispensation states it, and whether
/// two of them count the same thing.
public struct MedicationQuantity: Sendable, Hashable {
    public static let ucum = "http://unitsofmeasure.org"
    /// UCUM's annotation for packages: KBV 1.1 prescriptions and the FD's MedicationDispense examples.
    public static let packageCode = "{Package}"
    /// The unit KBV 1.4 fixes for `dispenseRequest.quantity` (with neither system nor code), which
    /// MedicationDispenses also use.
    public static let packageUnits: Set<String> = ["packung", "packungen"]

    public var value: Decimal
    public var unit: String?
    public var system: String?
    public var code: String?

    /// `nil` when there is no quantity or no readable `value`.
    public init?(_ quantity: Element?) {
        guard let quantity, let text = quantity.value(of: "value"),
              let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), !value.isNaN
        else { return nil }
        self.value = value
        unit = quantity.value(of: "unit")
        system = quantity.value(of: "system")
        code = quantity.value(of: "code")
    }

    /// Packages: the UCUM code `{Package}` (system UCUM or none), or, without any code, the unit
    /// `Packung`. A code decides over the unit (a human-readable label) where both are given.
    public var isPackages: Bool {
        if let code { return code == Self.packageCode && (system == nil || system == Self.ucum) }
        return system == nil && unit.map { Self.packageUnits.contains($0.lowercased()) } == true
    }

    /// Whether amounts of the two may be added and compared: both packages; else the same system
    /// and code; else, with neither system nor code on either, the same unit text. Anything else
    /// (packages against tablets, UCUM `mL` against `ml` without a system) is not comparable.
    public func isComparable(with other: MedicationQuantity) -> Bool {
        if isPackages || other.isPackages { return isPackages && other.isPackages }
        if let code, let system { return code == other.code && system == other.system }
        guard code == nil, system == nil, other.code == nil, other.system == nil, let unit else { return false }
        return unit == other.unit
    }

    /// The unit as the refusal names it: `Packung` for packages, else the unit text or the code.
    public var unitName: String {
        isPackages ? "Packung" : unit ?? code ?? ""
    }
}
