import Dispensing
import FHIRModel
import Foundation
import Testing

/// `$dispense` (dispense-spec.md §2 checks 4–14, §3.1).
struct DispenseRulesTests {
    static func dispense(
        _ task: PrescriptionTask = Fixtures.task(.inProgress), secret: String? = Fixtures.secret.rawValue, caller: Caller = Fixtures.pharmacy,
        body: Result<[Dispensation], any Error> = .success([FHIR.dispensation()]), ids: FixedIDs = FixedIDs(),
        policy: DispensingPolicy = .fd
    ) throws -> TaskChange {
        try DispenseRules.dispense(task, secret: secret, caller: caller, body: body, now: Fixtures.now, ids: ids, policy: policy)
    }

    static func dispense(_ dispensations: Dispensation...) throws -> TaskChange {
        try dispense(body: .success(dispensations))
    }

    static func stored(_ change: TaskChange) -> [Dispensation] {
        guard case .replace(let set) = change.dispensations else { return [] }
        return set
    }

    @Test func storesThreeDispensationsWithServerIDs() throws {
        let id = Fixtures.gkvID.rawValue
        let body = (0..<3).map { index in
            FHIR.dispensation(
                index, dispense: FHIR.medicationDispense(id: index == 1 ? "client-chosen" : nil, medicationReference: "#med-\(index)"),
                medication: FHIR.medication(id: "med-\(index)")
            )
        }
        let ids = FixedIDs()
        let task = Fixtures.task(.inProgress, owner: Fixtures.otherPharmacyID)
        let change = try Self.dispense(task, body: .success(body), ids: ids)
        guard case .replace(let set) = change.dispensations else {
            Issue.record("expected .replace, got \(change.dispensations)")
            return
        }
        #expect(set.count == 3)
        #expect(set.map { MedicationDispenseView(unchecked: $0.medicationDispense).id } == [id, "\(id)-1", "\(id)-2"])
        #expect(set.map { $0.medicationDispense.children.first?.name } == ["id", "id", "id"])
        #expect(set.map { $0.medication?.value(of: "id") } == Fixtures.uuids)
        #expect(set.map(\.view.medicationReference) == Fixtures.uuids.map { "urn:uuid:\($0)" })
        #expect(set.map(\.location) == ["MedicationDispense/\(id)", "MedicationDispense/\(id)-1", "MedicationDispense/\(id)-2"])
        #expect(set.map(\.medicationLocation) == ["Medication", "Medication", "Medication"])
        #expect(ids.uuidsDrawn == 3)
        // The rest of the resources is untouched.
        #expect(set[0].medicationDispense.descendant("medicationReference", "display")?.value == "Ibuprofen 400")
        #expect(set[2].medication?.descendant("batch", "lotNumber")?.value == "A123")
        #expect(set[1].view.whenHandedOver == "2025-03-10")

        var expected = task
        expected.owner = Fixtures.pharmacyID
        expected.lastMedicationDispense = Fixtures.now
        expected.lastModified = Fixtures.now
        #expect(change.task == expected)
        #expect(change.task.status == .inProgress)
        #expect(change.audit == Fixtures.audit(.dispense, task.id))
    }

    @Test func addsAMissingMedicationReferenceAfterItsExtensions() throws {
        var md = FHIR.medicationDispense()
        let index = try #require(md.children.firstIndex { $0.name == "medicationReference" })
        md.children[index].children = [
            Element(name: "extension", children: [Element(name: "url", value: "http://example.org/x")]),
            Element(name: "display", value: "Ibuprofen 400"),
        ]
        let set = Self.stored(try Self.dispense(FHIR.dispensation(dispense: md)))
        let reference = try #require(set.first?.medicationDispense.child("medicationReference"))
        #expect(reference.children.map(\.name) == ["extension", "reference", "display"])
        #expect(reference.value(of: "reference") == "urn:uuid:\(Fixtures.uuids[0])")
    }

    @Test func aDispensationWithoutMedicationDrawsNoUUID() throws {
        let ids = FixedIDs()
        let set = Self.stored(try Self.dispense(body: .success([FHIR.dispensation(medication: nil)]), ids: ids))
        #expect(set.count == 1)
        #expect(set.first?.medication == nil)
        #expect(set.first?.medicationLocation == nil)
        #expect(set.first?.view.medicationReference == "Medication/med-1")
        #expect(ids.uuidsDrawn == 0)
    }

    // MARK: Check order: secret (4) → status (5) → Telematik-ID (6) → body (7, 8) → contents (9–14)

    @Test func wrongSecretBeatsEverything() {
        let body: Result<[Dispensation], any Error> = .failure(BodyError())
        #expect(throws: DispensingError.secretMismatch) {
            try Self.dispense(Fixtures.task(.completed), secret: Fixtures.wrongCredential, caller: Fixtures.pharmacyWithoutID, body: body)
        }
        #expect(throws: DispensingError.secretMismatch) { try Self.dispense(secret: nil) }
        #expect(throws: DispensingError.secretMismatch) { try Self.dispense(secret: Fixtures.accessCode.rawValue) }
        // A ready or cancelled task has no secret, so it fails here, not at the status (spec §2, last note).
        #expect(throws: DispensingError.secretMismatch) { try Self.dispense(Fixtures.task(.ready)) }
        #expect(throws: DispensingError.secretMismatch) { try Self.dispense(Fixtures.task(.cancelled)) }
    }

    @Test func wrongStatusBeatsMissingTelematikIDAndBody() {
        #expect(throws: DispensingError.wrongStatus(current: .completed, required: [.inProgress])) {
            try Self.dispense(Fixtures.task(.completed), caller: Fixtures.pharmacyWithoutID, body: .failure(BodyError()))
        }
    }

    @Test func missingTelematikIDBeatsTheBody() {
        #expect(throws: DispensingError.telematikIDMissing) { try Self.dispense(caller: Fixtures.pharmacyWithoutID, body: .failure(BodyError())) }
    }

    @Test func bodyErrorSurfacesAfterTheTaskChecks() {
        #expect(throws: BodyError()) { try Self.dispense(body: .failure(BodyError())) }
    }

    // MARK: Contents

    static let location = "Parameters.parameter[1].part[0].resource"

    /// The refusal of a body of one dispensation; `strict` by default, so the tests of the FD's
    /// checks also show that each of them wins over the strict rules (ARCHITECTURE decision 14).
    static func refused(_ md: Element, medication: Element? = FHIR.medication(), policy: DispensingPolicy = .strict) -> DispensingError? {
        let dispensation = Dispensation(
            medicationDispense: md, medication: medication, location: location,
            medicationLocation: medication.map { _ in "Parameters.parameter[1].part[1].resource" }
        )
        do {
            _ = try Self.dispense(body: .success([dispensation]), policy: policy)
            return nil
        } catch {
            return error as? DispensingError
        }
    }

    @Test func prescriptionIDMismatchNamesTheIdentifier() {
        #expect(Self.refused(FHIR.medicationDispense(prescriptionID: "160.123.456.789.123.58"))
            == .prescriptionIDMismatch(expression: "\(Self.location).identifier[0]"))
        let extra = FHIR.identifier(system: "urn:oid:1.2.3", value: Fixtures.gkvID.rawValue)
        #expect(Self.refused(FHIR.medicationDispense(prescriptionID: "160.123.456.789.123.58", extraIdentifiers: [extra]))
            == .prescriptionIDMismatch(expression: "\(Self.location).identifier[1]"))
        // No identifier of the PrescriptionID system at all.
        #expect(Self.refused(FHIR.medicationDispense(prescriptionID: nil, extraIdentifiers: [extra]))
            == .prescriptionIDMismatch(expression: "\(Self.location).identifier"))
        #expect(Self.refused(FHIR.medicationDispense(prescriptionID: nil)) == .prescriptionIDMismatch(expression: "\(Self.location).identifier"))
    }

    @Test func kvnrMismatchNamesTheSubjectIdentifier() {
        let expected = DispensingError.kvnrMismatch(expression: "\(Self.location).subject.identifier")
        #expect(Self.refused(FHIR.medicationDispense(kvnr: Fixtures.otherKVNR.rawValue)) == expected)
        // The right number with another system (IBM accepts only the GKV one).
        #expect(Self.refused(FHIR.medicationDispense(kvnrSystem: Systems.pkvKVNR)) == expected)
        #expect(Self.refused(FHIR.medicationDispense(kvnr: Fixtures.kvnr.rawValue.lowercased())) == expected)
    }

    @Test func telematikIDMismatchNamesThePerformer() {
        let expected = DispensingError.telematikIDMismatch(expression: "\(Self.location).performer[0].actor.identifier")
        #expect(Self.refused(FHIR.medicationDispense(telematikIDs: [Fixtures.otherPharmacyID.rawValue])) == expected)
        #expect(Self.refused(FHIR.medicationDispense(telematikIDs: [])) == .telematikIDMismatch(expression: "\(Self.location).performer"))
        // Every performer must be the caller, not just one of them; the expression names the first that is not.
        #expect(Self.refused(FHIR.medicationDispense(telematikIDs: [Fixtures.otherPharmacyID.rawValue, Fixtures.pharmacyID.rawValue])) == expected)
        #expect(Self.refused(FHIR.medicationDispense(telematikIDs: [Fixtures.pharmacyID.rawValue, Fixtures.otherPharmacyID.rawValue]))
            == .telematikIDMismatch(expression: "\(Self.location).performer[1].actor.identifier"))
    }

    @Test func contentChecksRunInSpecOrder() {
        let allWrong = FHIR.medicationDispense(
            profiles: [Fixtures.medicationDispenseProfile, Fixtures.digaProfile], prescriptionID: "160.123.456.789.123.58",
            kvnr: Fixtures.otherKVNR.rawValue, telematikIDs: [Fixtures.otherPharmacyID.rawValue], whenHandedOver: "2025-03-10"
        )
        let expired = FHIR.medication(expirationDate: "2025-03-01")
        #expect(Self.refused(allWrong, medication: expired) == .medicationDispenseProfileNotAllowed(expression: "\(Self.location).meta.profile[1]"))
        let wrongID = FHIR.medicationDispense(
            prescriptionID: "160.123.456.789.123.58", kvnr: Fixtures.otherKVNR.rawValue, telematikIDs: [Fixtures.otherPharmacyID.rawValue]
        )
        #expect(Self.refused(wrongID, medication: expired) == .prescriptionIDMismatch(expression: "\(Self.location).identifier[0]"))
        let wrongKVNR = FHIR.medicationDispense(kvnr: Fixtures.otherKVNR.rawValue, telematikIDs: [Fixtures.otherPharmacyID.rawValue])
        #expect(Self.refused(wrongKVNR, medication: expired) == .kvnrMismatch(expression: "\(Self.location).subject.identifier"))
        let wrongPharmacy = FHIR.medicationDispense(telematikIDs: [Fixtures.otherPharmacyID.rawValue])
        #expect(Self.refused(wrongPharmacy, medication: expired)
            == .telematikIDMismatch(expression: "\(Self.location).performer[0].actor.identifier"))
    }

    @Test func digaProfileIsRefused() {
        #expect(Self.refused(FHIR.medicationDispense(profiles: [Fixtures.digaProfile]))
            == .medicationDispenseProfileNotAllowed(expression: "\(Self.location).meta.profile[0]"))
    }

    @Test func theSecondDispensationIsNamedByItsOwnLocation() {
        let body = [FHIR.dispensation(1), FHIR.dispensation(2, dispense: FHIR.medicationDispense(kvnr: Fixtures.otherKVNR.rawValue))]
        #expect(throws: DispensingError.kvnrMismatch(expression: "Parameters.parameter[2].part[0].resource.subject.identifier")) {
            try Self.dispense(body: .success(body))
        }
    }

    /// `strict` only (ARCHITECTURE decision 14): the FD stores a batch that expired before hand-over.
    @Test func expiredBatchIsRefusedWithTheMedicationLocation() {
        #expect(Self.refused(FHIR.medicationDispense(whenHandedOver: "2025-03-10"), medication: FHIR.medication(expirationDate: "2025-03-09"))
            == .expiredMedicationDispensed(expression: "Parameters.parameter[1].part[1].resource.batch.expirationDate"))
        #expect(Self.refused(FHIR.medicationDispense(whenHandedOver: "2025-03-10"), medication: FHIR.medication(expirationDate: "2025-03-09"),
                             policy: .fd) == nil)
        // A dateTime expiry counts by its date.
        let dateTime = FHIR.medication(expirationDate: "2025-03-09T23:59:59+01:00")
        #expect(Self.refused(FHIR.medicationDispense(whenHandedOver: "2025-03-10"), medication: dateTime)
            == .expiredMedicationDispensed(expression: "Parameters.parameter[1].part[1].resource.batch.expirationDate"))
    }

    @Test func expiryOnTheHandoverDayOrLaterIsFine() throws {
        for expiry in ["2025-03-10", "2025-03-10T00:00:00+01:00", "2025-03-11", "2026-01-31", "2025-03"] {
            let medication = FHIR.medication(expirationDate: expiry)
            let body = [FHIR.dispensation(dispense: FHIR.medicationDispense(whenHandedOver: "2025-03-10"), medication: medication)]
            #expect(Self.stored(try Self.dispense(body: .success(body), policy: .strict)).count == 1, "expiry \(expiry)")
        }
    }
}

@Suite struct EmptyDispensationTests {
    /// The profile demands an rxDispensation; the rule refuses an empty set too, so nothing can be
    /// stored as "dispensed" without content.
    @Test func anEmptySetIsRefused() {
        #expect(throws: DispensingError.noDispensationSent) {
            try DispenseRules.dispense(
                Fixtures.task(.inProgress), secret: Fixtures.secret.rawValue, caller: Fixtures.pharmacy, body: .success([]),
                now: Fixtures.now, ids: FixedIDs()
            )
        }
    }
}
