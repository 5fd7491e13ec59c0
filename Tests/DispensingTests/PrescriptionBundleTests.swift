import Dispensing
import FHIRModel
import Testing

/// What `$activate` reads from the KBV bundle, and where it says a piece is missing.
struct PrescriptionBundleTests {
    static let noKVNR = "The Patient has no valid KVNR."
    static let noAuthoredOn = "The MedicationRequest has no authoredOn date."

    @Test func readsTheFacts() throws {
        let bundle = FHIR.prescriptionBundle(authoredOn: "2025-03-01")
        let prescription = try PrescriptionBundle(bundle)
        #expect(prescription.prescriptionID == Fixtures.gkvID.rawValue)
        #expect(prescription.kvnr == Fixtures.kvnr)
        #expect(prescription.authoredOn == "2025-03-01")
        #expect(prescription.bundle == bundle)
    }

    @Test func authoredOnKeepsOnlyTheDate() throws {
        #expect(try PrescriptionBundle(FHIR.prescriptionBundle(authoredOn: "2025-03-01T23:30:00+01:00")).authoredOn == "2025-03-01")
    }

    @Test func acceptsThePKVSystem() throws {
        let prescription = try PrescriptionBundle(FHIR.prescriptionBundle(prescriptionID: Fixtures.pkvID.rawValue, kvnrSystem: Systems.pkvKVNR))
        #expect(prescription.kvnr == Fixtures.kvnr)
        #expect(prescription.prescriptionID == Fixtures.pkvID.rawValue)
    }

    @Test func takesTheKVNRIdentifierAmongOthers() throws {
        // The fixture's Patient has a local identifier first; the KVNR is the second.
        let bundle = FHIR.prescriptionBundle()
        let patient = try #require(BundleView(unchecked: bundle).entries.compactMap(\.resource).first { $0.name == "Patient" })
        #expect(patient.children(named: "identifier").count == 2)
        #expect(try PrescriptionBundle(bundle).kvnr == Fixtures.kvnr)
    }

    @Test func refusesAnotherResource() {
        #expect(throws: DispensingError.invalidPrescription(reason: "The prescription must be a Bundle.", expression: "Parameters")) {
            try PrescriptionBundle(Element(name: "Parameters"))
        }
    }

    @Test func needsThePrescriptionIDIdentifier() {
        let expected = DispensingError.invalidPrescription(reason: "The bundle has no PrescriptionID identifier.", expression: "Bundle.identifier")
        #expect(throws: expected) { try PrescriptionBundle(FHIR.prescriptionBundle(prescriptionID: nil)) }
        var otherSystem = FHIR.prescriptionBundle()
        otherSystem.children[1] = FHIR.identifier(system: "urn:ietf:rfc:3986", value: Fixtures.gkvID.rawValue)
        #expect(throws: expected) { try PrescriptionBundle(otherSystem) }
        var noValue = FHIR.prescriptionBundle()
        noValue.children[1] = Element(name: "identifier", children: [Element(name: "system", value: Systems.prescriptionID)])
        #expect(throws: expected) { try PrescriptionBundle(noValue) }
    }

    @Test func needsAPatient() {
        #expect(throws: DispensingError.invalidPrescription(reason: "The bundle has no Patient.", expression: "Bundle.entry")) {
            try PrescriptionBundle(FHIR.prescriptionBundle(withPatient: false))
        }
    }

    @Test func needsAValidKVNRNamedAtThePatientsEntry() {
        // Entries: 0 Composition, 1 MedicationRequest, 2 Patient.
        let expected = DispensingError.invalidPrescription(reason: Self.noKVNR, expression: "Bundle.entry[2].resource.identifier")
        #expect(throws: expected) { try PrescriptionBundle(FHIR.prescriptionBundle(kvnr: nil)) }
        #expect(throws: expected) { try PrescriptionBundle(FHIR.prescriptionBundle(kvnr: "x234567890")) }
        #expect(throws: expected) { try PrescriptionBundle(FHIR.prescriptionBundle(kvnrSystem: "urn:oid:1.2.276.0.76.4.8")) }
        // Without the MedicationRequest the Patient is entry 1.
        #expect(throws: DispensingError.invalidPrescription(reason: Self.noKVNR, expression: "Bundle.entry[1].resource.identifier")) {
            try PrescriptionBundle(FHIR.prescriptionBundle(kvnr: nil, withRequest: false))
        }
    }

    @Test func needsAMedicationRequestWithAnAuthoredOnDate() {
        #expect(throws: DispensingError.invalidPrescription(reason: "The bundle has no MedicationRequest.", expression: "Bundle.entry")) {
            try PrescriptionBundle(FHIR.prescriptionBundle(withRequest: false))
        }
        let noDate = DispensingError.invalidPrescription(
            reason: Self.noAuthoredOn, expression: "Bundle.entry[1].resource.authoredOn"
        )
        #expect(throws: noDate) { try PrescriptionBundle(FHIR.prescriptionBundle(authoredOn: nil)) }
        #expect(throws: noDate) { try PrescriptionBundle(FHIR.prescriptionBundle(authoredOn: "2025-03")) }
    }

    @Test func entriesWithoutAResourceStillCount() throws {
        var bundle = FHIR.prescriptionBundle(authoredOn: nil)
        // An entry with only a fullUrl in front: the MedicationRequest moves to index 2.
        bundle.children.insert(Element(name: "entry", children: [Element(name: "fullUrl", value: "urn:uuid:x")]), at: 3)
        #expect(throws: DispensingError.invalidPrescription(reason: Self.noAuthoredOn, expression: "Bundle.entry[2].resource.authoredOn")) {
            try PrescriptionBundle(bundle)
        }
    }
}
