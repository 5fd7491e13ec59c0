import Dispensing
import FHIRFormats
import FHIRModel
import Foundation
import SQLiteStore

/// A fresh directory under the system's temporary directory for one test, removed afterwards
/// together with the database files (`.sqlite`, `-wal`, `-shm`) in it.
@discardableResult
func withTemporaryDirectory<Result>(_ body: (URL) async throws -> Result) async throws -> Result {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-sqlite-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

/// A store on a new file in a fresh temporary directory, closed and removed afterwards.
@discardableResult
func withTemporaryStore<Result>(_ body: (SQLiteTaskStore) async throws -> Result) async throws -> Result {
    try await withTemporaryDirectory { directory async throws in
        let store = try SQLiteTaskStore(path: Fixtures.databasePath(in: directory))
        let result = try await body(store)
        try await store.close()
        return result
    }
}

/// Fixed values and FHIR resources. Resources are parsed from JSON, so they are the canonical
/// trees the codecs produce and a stored resource can be compared with `==` after a round-trip.
enum Fixtures {
    static let created = Date(timeIntervalSince1970: 1_741_500_000.125)
    static let kvnr = KVNR("X234567890")!
    static let otherKVNR = KVNR("Y987654321")!
    static let pharmacyID = TelematikID("3-SMC-B-Testkarte-883110000095957")!
    static let accessCode = TaskCredential(randomBytes: Array(repeating: 0xAC, count: 32))
    static let secret = TaskCredential(randomBytes: Array(0..<32))
    static let doctor = Caller(profession: .doctorsPractice, telematikID: TelematikID("1-HBA-Testkarte-883110000095959")!)
    static let pharmacy = Caller(profession: .publicPharmacy, telematikID: pharmacyID)

    static func databasePath(in directory: URL) -> String {
        directory.appendingPathComponent("erx.sqlite").path
    }

    /// The `number`-th PrescriptionID of flow type 160.
    static func prescriptionID(_ number: Int) -> PrescriptionID {
        PrescriptionID(flowType: .gkvPharmacy, serial: UInt64(number))
    }

    /// An accepted task with every field set, as `$accept` leaves it.
    static func task(_ id: PrescriptionID, kvnr: KVNR = kvnr, created: Date = created) -> PrescriptionTask {
        var task = PrescriptionTask(id: id, status: .inProgress, accessCode: accessCode, createdAt: created)
        task.secret = secret
        task.kvnr = kvnr
        task.owner = pharmacyID
        task.lastModified = created.addingTimeInterval(60.5)
        task.authoredOn = "2025-03-01"
        task.expiryDate = "2025-06-01"
        task.acceptDate = "2025-03-29"
        task.acceptedAt = created.addingTimeInterval(30.001)
        task.prescription = prescriptionBundle(id)
        return task
    }

    static func createAudit(_ task: PrescriptionTask) -> AuditEntry {
        AuditEntry(action: .create, prescriptionID: task.id, caller: doctor, kvnr: nil, recorded: task.createdAt)
    }

    static func audit(_ action: AuditEntry.Action, _ id: PrescriptionID, at recorded: Date) -> AuditEntry {
        AuditEntry(action: action, prescriptionID: id, caller: pharmacy, kvnr: kvnr, recorded: recorded)
    }

    static func resource(_ json: String) -> Element {
        do {
            return try FHIRFormat.json.read(Array(json.utf8)).resource
        } catch {
            fatalError("fixture JSON does not parse: \(error)")
        }
    }

    static func prescriptionBundle(_ id: PrescriptionID) -> Element {
        resource("""
            {"resourceType":"Bundle","id":"kbv-bundle","identifier":{"system":"\(Systems.prescriptionID)","value":"\(id.rawValue)"},
            "type":"document","timestamp":"2025-03-01T10:00:00.123+01:00","entry":[{"fullUrl":"http://pvs.praxis.local/fhir/MedicationRequest/1",
            "resource":{"resourceType":"MedicationRequest","id":"mr1","status":"active","intent":"order",
            "subject":{"reference":"Patient/p1"},"authoredOn":"2025-03-01"}}]}
            """)
    }

    static func receipt(_ id: PrescriptionID) -> Element {
        resource(#"{"resourceType":"Bundle","id":"receipt-\#(id.rawValue)","type":"document"}"#)
    }

    /// The `position`-th dispensation of a set sent by `writer` (its tag, stored in an extra
    /// identifier), with the server's ids as the rules assign them.
    static func dispensation(
        _ task: PrescriptionID, position: Int, writer: Int = 0, kvnr: KVNR = kvnr,
        whenHandedOver: String = "2025-03-10", withMedication: Bool = true
    ) -> Dispensation {
        let id = position == 0 ? task.rawValue : "\(task.rawValue)-\(position)"
        let uuid = "6f0d3a4e-0000-4000-8000-\(String(format: "%012d", writer * 1000 + position))"
        let reference = withMedication ? #""medicationReference":{"reference":"urn:uuid:\#(uuid)"},"# : #""medicationCodeableConcept":{"text":"DiGA"},"#
        let dispense = resource("""
            {"resourceType":"MedicationDispense","id":"\(id)",
            "meta":{"profile":["https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_MedicationDispense|1.4"]},
            "identifier":[{"system":"\(Systems.prescriptionID)","value":"\(task.rawValue)"},{"system":"urn:test:writer","value":"\(writer)"}],
            "status":"completed",\(reference)
            "subject":{"identifier":{"system":"\(Systems.kvnr)","value":"\(kvnr.rawValue)"}},
            "performer":[{"actor":{"identifier":{"system":"\(Systems.telematikID)","value":"\(pharmacyID.rawValue)"}}}],
            "quantity":{"value":1.50,"unit":"Packung"},"whenHandedOver":"\(whenHandedOver)"}
            """)
        let medication = resource("""
            {"resourceType":"Medication","id":"\(uuid)","code":{"text":"Ibuprofen 400 – Größe N1"},
            "batch":{"lotNumber":"A123","expirationDate":"2026-12-31"}}
            """)
        return Dispensation(
            medicationDispense: dispense, medication: withMedication ? medication : nil,
            location: "MedicationDispense/\(id)", medicationLocation: withMedication ? "Medication" : nil
        )
    }

    /// A whole set of `size` dispensations, all tagged with `writer`.
    static func dispensationSet(_ task: PrescriptionID, size: Int, writer: Int) -> [Dispensation] {
        (0..<size).map { dispensation(task, position: $0, writer: writer) }
    }

    /// The writer tag of a stored dispensation (see ``dispensation(_:position:writer:kvnr:whenHandedOver:withMedication:)``).
    static func writerTag(of dispensation: Dispensation) -> Int? {
        dispensation.medicationDispense.children(named: "identifier")
            .first { $0.value(of: "system") == "urn:test:writer" }?.value(of: "value").flatMap { Int($0) }
    }
}

/// An error a test's `decide` throws, to tell it apart from everything the store throws.
struct RuleRefused: Error, Equatable {
    var number: Int
}

extension TaskStore {
    /// `update` for rules that need only the task (most store tests).
    func update<Outcome: Sendable>(
        task id: PrescriptionID, _ decide: @escaping @Sendable (PrescriptionTask) throws -> (TaskChange, Outcome)
    ) async throws -> Outcome {
        try await update(id) { snapshot in try decide(snapshot.task) }
    }
}
