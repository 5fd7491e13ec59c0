import Dispensing
import FHIRModel
import Foundation
import Synchronization

/// A deterministic `IDGenerator`: a fixed serial, a fixed credential, and UUIDs handed out in order
/// (wrapping around) so several Medications of one call get distinct, predictable ids.
struct FixedIDs: IDGenerator {
    var serial: UInt64 = 33_491_280
    var fixedCredential: TaskCredential = Fixtures.newCredential
    var uuids: [String] = Fixtures.uuids
    private let handedOut = Counter()

    init(serial: UInt64 = 33_491_280, credential: TaskCredential = Fixtures.newCredential, uuids: [String] = Fixtures.uuids) {
        self.serial = serial
        self.fixedCredential = credential
        self.uuids = uuids
    }

    func prescriptionSerial() -> UInt64 { serial }
    func credential() -> TaskCredential { fixedCredential }
    func uuid() -> String { uuids[handedOut.next() % uuids.count] }
    func sortableUUID() -> String { uuid() }

    /// How many UUIDs were drawn so far.
    var uuidsDrawn: Int { handedOut.count }
}

final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int { value.withLock { current in defer { current += 1 }; return current } }
    var count: Int { value.withLock { $0 } }
}

/// Fixed values shared by the rule tests.
enum Fixtures {
    /// 2025-03-10T09:00:00Z (10:00 in Berlin).
    static let now = Date(timeIntervalSince1970: 1_741_597_200)
    static let created = Date(timeIntervalSince1970: 1_741_500_000)

    static let gkvID = PrescriptionID("160.000.033.491.280.78")!
    static let pkvID = PrescriptionID("200.000.001.206.112.29")!
    static let directID = PrescriptionID("169.123.456.789.012.11")!
    static let pkvDirectID = PrescriptionID("209.123.456.789.012.25")!

    static let kvnr = KVNR("X234567890")!
    static let otherKVNR = KVNR("Y987654321")!
    static let pharmacyID = TelematikID("3-SMC-B-Testkarte-883110000095957")!
    static let otherPharmacyID = TelematikID("3-SMC-B-Testkarte-883110000095958")!
    static let doctorID = TelematikID("1-HBA-Testkarte-883110000095959")!

    static let accessCode = TaskCredential(randomBytes: Array(repeating: 0xAC, count: 32))
    static let secret = TaskCredential(randomBytes: Array(repeating: 0x5E, count: 32))
    static let newCredential = TaskCredential(randomBytes: Array(0..<32))
    static let wrongCredential = String(repeating: "0", count: 64)

    static let uuids = [
        "6f0d3a4e-0000-4000-8000-000000000001",
        "6f0d3a4e-0000-4000-8000-000000000002",
        "6f0d3a4e-0000-4000-8000-000000000003",
    ]

    static let pharmacy = Caller(profession: .publicPharmacy, telematikID: pharmacyID)
    static let otherPharmacy = Caller(profession: .publicPharmacy, telematikID: otherPharmacyID)
    static let pharmacyWithoutID = Caller(profession: .publicPharmacy)
    static let doctor = Caller(profession: .doctorsPractice, telematikID: doctorID)
    static let insurant = Caller(profession: .insurant, kvnr: kvnr)
    static let otherInsurant = Caller(profession: .insurant, kvnr: otherKVNR)

    static let medicationDispenseProfile = "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_MedicationDispense|1.4"
    static let digaProfile = "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_MedicationDispense_DiGA|1.4"

    /// The audit entry a rule writes for `caller` on a task of the insurant `kvnr`, at `now`.
    static func audit(_ action: AuditEntry.Action, _ id: PrescriptionID, by caller: Caller = pharmacy, kvnr: KVNR? = kvnr) -> AuditEntry {
        AuditEntry(action: action, prescriptionID: id, caller: caller, kvnr: kvnr, recorded: now)
    }

    /// A task in `status` as the workflow would have left it: activated tasks have the KVNR and the
    /// dates, accepted ones a secret and an owner, cancelled ones no credentials.
    static func task(
        _ status: TaskStatus, id: PrescriptionID = gkvID, owner: TelematikID? = pharmacyID, dispensed: Bool = false
    ) -> PrescriptionTask {
        var task = PrescriptionTask(id: id, status: status, accessCode: status == .cancelled ? nil : accessCode, createdAt: created)
        guard status != .draft else { return task }
        task.kvnr = kvnr
        task.authoredOn = "2025-03-01"
        task.expiryDate = "2025-06-01"
        task.acceptDate = "2025-03-29"
        if status != .cancelled { task.prescription = Element(name: "Bundle", children: [Element(name: "id", value: "kbv-bundle")]) }
        if status == .inProgress || status == .completed {
            task.secret = secret
            task.owner = owner
            task.acceptedAt = created
        }
        if dispensed { task.lastMedicationDispense = created }
        if status == .completed {
            task.completedAt = created
            task.receipt = Element(name: "Bundle", children: [Element(name: "id", value: "receipt")])
        }
        return task
    }
}

/// Hand-built FHIR trees (element order as FHIR defines it).
enum FHIR {
    static func primitive(_ name: String, _ value: String) -> Element { Element(name: name, value: value) }

    static func identifier(_ name: String = "identifier", system: String, value: String) -> Element {
        Element(name: name, children: [primitive("system", system), primitive("value", value)])
    }

    static func medicationDispense(
        id: String? = nil,
        profiles: [String] = [Fixtures.medicationDispenseProfile],
        prescriptionID: String? = Fixtures.gkvID.rawValue,
        extraIdentifiers: [Element] = [],
        kvnrSystem: String = Systems.kvnr,
        kvnr: String = Fixtures.kvnr.rawValue,
        telematikIDs: [String] = [Fixtures.pharmacyID.rawValue],
        medicationReference: String? = "Medication/med-1",
        whenHandedOver: String = "2025-03-10"
    ) -> Element {
        var children: [Element] = []
        if let id { children.append(primitive("id", id)) }
        children.append(Element(name: "meta", children: profiles.map { primitive("profile", $0) }))
        children += extraIdentifiers
        if let prescriptionID { children.append(identifier(system: Systems.prescriptionID, value: prescriptionID)) }
        children.append(primitive("status", "completed"))
        if let medicationReference {
            children.append(Element(name: "medicationReference", children: [
                primitive("reference", medicationReference), primitive("display", "Ibuprofen 400"),
            ]))
        }
        children.append(Element(name: "subject", children: [identifier(system: kvnrSystem, value: kvnr)]))
        for telematikID in telematikIDs {
            children.append(Element(name: "performer", children: [
                Element(name: "actor", children: [identifier(system: Systems.telematikID, value: telematikID)]),
            ]))
        }
        children.append(primitive("whenHandedOver", whenHandedOver))
        return Element(name: "MedicationDispense", children: children)
    }

    static func medication(id: String = "med-1", expirationDate: String? = nil) -> Element {
        var batch = [primitive("lotNumber", "A123")]
        if let expirationDate { batch.append(primitive("expirationDate", expirationDate)) }
        return Element(name: "Medication", children: [
            primitive("id", id),
            Element(name: "code", children: [primitive("text", "Ibuprofen 400")]),
            Element(name: "batch", children: batch),
        ])
    }

    /// The `index`-th rxDispensation of a `$dispense` Parameters body.
    static func dispensation(_ index: Int = 0, dispense: Element = medicationDispense(), medication: Element? = FHIR.medication()) -> Dispensation {
        Dispensation(
            medicationDispense: dispense, medication: medication,
            location: "Parameters.parameter[\(index)].part[0].resource",
            medicationLocation: medication.map { _ in "Parameters.parameter[\(index)].part[1].resource" }
        )
    }

    /// A KBV-like prescription bundle; pass `nil` to leave a piece out.
    static func prescriptionBundle(
        prescriptionID: String? = Fixtures.gkvID.rawValue,
        kvnrSystem: String = Systems.kvnr,
        kvnr: String? = Fixtures.kvnr.rawValue,
        withPatient: Bool = true,
        withRequest: Bool = true,
        authoredOn: String? = "2025-03-01"
    ) -> Element {
        var children = [primitive("id", "kbv-bundle")]
        if let prescriptionID { children.append(identifier(system: Systems.prescriptionID, value: prescriptionID)) }
        children.append(primitive("type", "document"))
        func entry(_ resource: Element) -> Element {
            Element(name: "entry", children: [
                primitive("fullUrl", "http://pvs.praxis.local/fhir/\(resource.name)/1"),
                Element(name: "resource", children: [resource]),
            ])
        }
        children.append(entry(Element(name: "Composition", children: [primitive("id", "c1")])))
        if withRequest {
            var request = [primitive("id", "mr1"), primitive("status", "active")]
            if let authoredOn { request.append(primitive("authoredOn", authoredOn)) }
            children.append(entry(Element(name: "MedicationRequest", children: request)))
        }
        if withPatient {
            var patient = [primitive("id", "p1"), identifier(system: "urn:oid:1.2.3", value: "local-1")]
            if let kvnr { patient.append(identifier(system: kvnrSystem, value: kvnr)) }
            children.append(entry(Element(name: "Patient", children: patient)))
        }
        return Element(name: "Bundle", children: children)
    }
}

struct BodyError: Error, Equatable {}
