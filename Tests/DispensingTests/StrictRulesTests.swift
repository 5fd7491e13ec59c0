import Dispensing
import FHIRModel
import Foundation
import Testing

/// `--rules strict` (ARCHITECTURE decision 14; ours): the rules beyond the FD's, on the domain. Over
/// HTTP in `FHIRServerTests/StrictRulesHTTPTests`.
@Suite struct StrictRulesTests {
    static let prescribedPZN = "04351736"
    static let otherPZN = "18742630"

    /// A KBV-like bundle: a MedicationRequest naming its Medication by `urn:uuid`, as KBV 1.4 does.
    static func prescription(quantity: Element? = packages("2"), substitutionAllowed: Bool? = true, pzn: String? = prescribedPZN) -> Element {
        let medicationURL = "urn:uuid:7a1e0c55-2b9d-4f0e-8c11-3e5d2a6b7c03"
        var request = [FHIR.primitive("id", "mr1"), FHIR.primitive("status", "active"),
                       Element(name: "medicationReference", children: [FHIR.primitive("reference", medicationURL)])]
        if let quantity { request.append(Element(name: "dispenseRequest", children: [quantity])) }
        if let substitutionAllowed {
            request.append(Element(name: "substitution", children: [FHIR.primitive("allowedBoolean", substitutionAllowed ? "true" : "false")]))
        }
        let code = pzn.map { [Element(name: "coding", children: [FHIR.primitive("system", KBVMedication.pznSystem), FHIR.primitive("code", $0)])] }
            ?? [FHIR.primitive("text", "Rezeptur")]
        let medication = Element(name: "Medication", children: [FHIR.primitive("id", "7a1e0c55-2b9d-4f0e-8c11-3e5d2a6b7c03"), Element(name: "code", children: code)])
        func entry(_ url: String, _ resource: Element) -> Element {
            Element(name: "entry", children: [FHIR.primitive("fullUrl", url), Element(name: "resource", children: [resource])])
        }
        return Element(name: "Bundle", children: [
            FHIR.primitive("type", "document"),
            entry("urn:uuid:7a1e0c55-2b9d-4f0e-8c11-3e5d2a6b7c02", Element(name: "MedicationRequest", children: request)),
            entry(medicationURL, medication),
        ])
    }

    /// KBV 1.4's form: unit `Packung`, no system or code.
    static func packages(_ value: String, name: String = "quantity") -> Element {
        Element(name: name, children: [FHIR.primitive("value", value), FHIR.primitive("unit", "Packung")])
    }

    static func quantity(_ value: String, unit: String? = nil, system: String? = nil, code: String? = nil) -> Element {
        var children = [FHIR.primitive("value", value)]
        if let unit { children.append(FHIR.primitive("unit", unit)) }
        if let system { children.append(FHIR.primitive("system", system)) }
        if let code { children.append(FHIR.primitive("code", code)) }
        return Element(name: "quantity", children: children)
    }

    /// KBV 1.1's form and the FD's MedicationDispense examples: UCUM `{Package}`.
    static func ucumPackages(_ value: String) -> Element {
        quantity(value, system: MedicationQuantity.ucum, code: MedicationQuantity.packageCode)
    }

    /// The `index`-th rxDispensation with `quantity` and a Medication of `pzn`.
    static func dispensation(_ index: Int, quantity: Element? = nil, pzn: String? = prescribedPZN, expirationDate: String? = nil) -> Dispensation {
        var md = FHIR.medicationDispense()
        if let quantity { md.children.insert(quantity, at: md.children.firstIndex { $0.name == "whenHandedOver" } ?? md.children.endIndex) }
        var medication = FHIR.medication(expirationDate: expirationDate)
        if let pzn, let code = medication.children.firstIndex(where: { $0.name == "code" }) {
            medication.children[code].children.insert(
                Element(name: "coding", children: [FHIR.primitive("system", KBVMedication.pznSystem), FHIR.primitive("code", pzn)]), at: 0)
        }
        return FHIR.dispensation(index, dispense: md, medication: medication)
    }

    static func task(_ prescription: Element = prescription(), dispensed: Bool = false) -> PrescriptionTask {
        var task = Fixtures.task(.inProgress, dispensed: dispensed)
        task.prescription = prescription
        return task
    }

    /// What `$dispense` refuses the set with under `policy` (`nil`: stored).
    static func refusal(_ set: [Dispensation], prescription: Element = prescription(), policy: DispensingPolicy = .strict) -> DispensingError? {
        do {
            _ = try DispenseRulesTests.dispense(task(prescription), body: .success(set), policy: policy)
            return nil
        } catch {
            return error as? DispensingError ?? .taskNotFound
        }
    }

    // MARK: Quantity

    @Test func packagesCompareInEveryFormTheProfilesUse() throws {
        let kbv14 = try #require(MedicationQuantity(Self.packages("2")))
        let ucum = try #require(MedicationQuantity(Self.ucumPackages("1")))
        let both = try #require(MedicationQuantity(Self.quantity("1", unit: "Packung", system: MedicationQuantity.ucum, code: "{Package}")))
        let codeOnly = try #require(MedicationQuantity(Self.quantity("1", code: "{Package}")))
        for quantity in [kbv14, ucum, both, codeOnly] {
            #expect(quantity.isPackages && quantity.isComparable(with: kbv14) && kbv14.isComparable(with: quantity))
        }
        let tablets = try #require(MedicationQuantity(Self.quantity("20", unit: "St")))
        let millilitres = try #require(MedicationQuantity(Self.quantity("100", unit: "ml", system: MedicationQuantity.ucum, code: "mL")))
        let anotherCode = try #require(MedicationQuantity(Self.quantity("1", unit: "Packung", system: MedicationQuantity.ucum, code: "{Pack}")))
        #expect(!tablets.isComparable(with: kbv14) && !kbv14.isComparable(with: tablets))
        #expect(!millilitres.isComparable(with: ucum) && !anotherCode.isPackages)
        // Not packages: the same system and code, or with neither, the same unit text.
        #expect(millilitres.isComparable(with: try #require(MedicationQuantity(Self.quantity("5", system: MedicationQuantity.ucum, code: "mL")))))
        #expect(tablets.isComparable(with: try #require(MedicationQuantity(Self.quantity("5", unit: "St")))))
        #expect(!tablets.isComparable(with: try #require(MedicationQuantity(Self.quantity("5", unit: "Stück")))))
        #expect(MedicationQuantity(Self.quantity("viele")) == nil && MedicationQuantity(nil) == nil)
    }

    @Test func theSetsSumMayReachThePrescribedQuantity() {
        #expect(Self.refusal([Self.dispensation(0, quantity: Self.packages("2"))]) == nil)
        #expect(Self.refusal([Self.dispensation(0, quantity: Self.ucumPackages("1")), Self.dispensation(1, quantity: Self.packages("1.0"))]) == nil)
        // Without a quantity, or in another unit, a dispensation is not counted (and never refused for it).
        #expect(Self.refusal([Self.dispensation(0, quantity: Self.packages("2")), Self.dispensation(1),
                              Self.dispensation(2, quantity: Self.quantity("500", unit: "St"))]) == nil)
        // No quantity prescribed, or none readable: nothing to compare with.
        #expect(Self.refusal([Self.dispensation(0, quantity: Self.packages("9"))], prescription: Self.prescription(quantity: nil)) == nil)
    }

    @Test func aSumAboveThePrescribedQuantityIsRefusedAtTheQuantityThatPassedIt() {
        #expect(Self.refusal([Self.dispensation(0, quantity: Self.packages("3"))])
            == .quantityExceedsPrescription(expression: "Parameters.parameter[0].part[0].resource.quantity", dispensed: "3", prescribed: "2", unit: "Packung"))
        let set = [Self.dispensation(0, quantity: Self.ucumPackages("1")), Self.dispensation(1, quantity: Self.packages("1")),
                   Self.dispensation(2, quantity: Self.ucumPackages("0.5"))]
        #expect(Self.refusal(set)
            == .quantityExceedsPrescription(expression: "Parameters.parameter[2].part[0].resource.quantity", dispensed: "2.5", prescribed: "2", unit: "Packung"))
        // KBV 1.1's form of the prescribed quantity.
        #expect(Self.refusal([Self.dispensation(0, quantity: Self.packages("2"))], prescription: Self.prescription(quantity: Self.ucumPackages("1")))
            == .quantityExceedsPrescription(expression: "Parameters.parameter[0].part[0].resource.quantity", dispensed: "2", prescribed: "1", unit: "Packung"))
        #expect(Self.refusal([Self.dispensation(0, quantity: Self.packages("3"))], policy: .fd) == nil)
    }

    // MARK: Aut idem

    @Test func anExcludedSubstitutionAdmitsOnlyThePrescribedPZN() {
        let excluded = Self.prescription(substitutionAllowed: false)
        #expect(Self.refusal([Self.dispensation(0, pzn: Self.otherPZN)], prescription: excluded)
            == .substitutionExcluded(expression: "Parameters.parameter[0].part[1].resource.code.coding[0].code"))
        #expect(Self.refusal([Self.dispensation(0), Self.dispensation(1, pzn: Self.otherPZN)], prescription: excluded)
            == .substitutionExcluded(expression: "Parameters.parameter[1].part[1].resource.code.coding[0].code"))
        #expect(Self.refusal([Self.dispensation(0), Self.dispensation(1)], prescription: excluded) == nil)
        #expect(Self.refusal([Self.dispensation(0, pzn: Self.otherPZN)], prescription: excluded, policy: .fd) == nil)
    }

    @Test func withoutAPZNOnEitherSideOrWithSubstitutionAllowedTheRuleDoesNotApply() {
        #expect(Self.refusal([Self.dispensation(0, pzn: Self.otherPZN)]) == nil)
        #expect(Self.refusal([Self.dispensation(0, pzn: Self.otherPZN)], prescription: Self.prescription(substitutionAllowed: nil)) == nil)
        #expect(Self.refusal([Self.dispensation(0, pzn: Self.otherPZN)], prescription: Self.prescription(substitutionAllowed: false, pzn: nil)) == nil)
        #expect(Self.refusal([Self.dispensation(0, pzn: nil)], prescription: Self.prescription(substitutionAllowed: false)) == nil)
    }

    // MARK: Order

    @Test func fdRefusalsWinAndTheStrictRulesRunInTheirOrder() {
        var foreign = Self.dispensation(0, quantity: Self.packages("3"), pzn: Self.otherPZN, expirationDate: "2025-03-01")
        foreign.medicationDispense = FHIR.medicationDispense(kvnr: Fixtures.otherKVNR.rawValue)
        let excluded = Self.prescription(substitutionAllowed: false)
        #expect(Self.refusal([foreign], prescription: excluded) == .kvnrMismatch(expression: "Parameters.parameter[0].part[0].resource.subject.identifier"))
        let everything = Self.dispensation(0, quantity: Self.packages("3"), pzn: Self.otherPZN, expirationDate: "2025-03-01")
        #expect(Self.refusal([everything], prescription: excluded)
            == .expiredMedicationDispensed(expression: "Parameters.parameter[0].part[1].resource.batch.expirationDate"))
        #expect(Self.refusal([Self.dispensation(0, quantity: Self.packages("3"), pzn: Self.otherPZN)], prescription: excluded)
            == .substitutionExcluded(expression: "Parameters.parameter[0].part[1].resource.code.coding[0].code"))
    }

    // MARK: $close

    /// `$close` with a body judges the body's set; without one the stored set, named by its ids.
    @Test func closeJudgesTheSetTheTaskKeeps() throws {
        let body = [Self.dispensation(0, quantity: Self.packages("3"))]
        #expect(throws: DispensingError.quantityExceedsPrescription(
            expression: "Parameters.parameter[0].part[0].resource.quantity", dispensed: "3", prescribed: "2", unit: "Packung")) {
            try DispenseRules.close(Self.task(dispensed: true), secret: Fixtures.secret.rawValue, caller: Fixtures.pharmacy, body: .success(body),
                                    now: Fixtures.now, ids: FixedIDs(), policy: .strict, receipt: { _ in CloseRulesTests.receipt })
        }
        let stored = try DispenseRulesTests.stored(DispenseRulesTests.dispense(Self.task(), body: .success(body)))
        let id = Fixtures.gkvID.rawValue
        #expect(throws: DispensingError.quantityExceedsPrescription(
            expression: "MedicationDispense.where(id='\(id)').quantity", dispensed: "3", prescribed: "2", unit: "Packung")) {
            try DispenseRules.close(Self.task(dispensed: true), secret: Fixtures.secret.rawValue, caller: Fixtures.pharmacy, body: .success(nil),
                                    now: Fixtures.now, ids: FixedIDs(), policy: .strict, stored: { stored }, receipt: { _ in CloseRulesTests.receipt })
        }
        // `fd` never reads the stored set.
        let reads = Counter()
        let closed = try DispenseRules.close(
            Self.task(dispensed: true), secret: Fixtures.secret.rawValue, caller: Fixtures.pharmacy, body: .success(nil), now: Fixtures.now,
            ids: FixedIDs(), policy: .fd, stored: { _ = reads.next(); return stored }, receipt: { _ in CloseRulesTests.receipt })
        #expect(closed.task.status == .completed && reads.count == 0)
    }
}
