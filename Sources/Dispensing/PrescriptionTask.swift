public import FHIRModel
public import Foundation

/// The states of a Task (`Task.status`), with the codes FHIR writes.
public enum TaskStatus: String, Sendable, Hashable, CaseIterable {
    case draft
    case ready
    case inProgress = "in-progress"
    case completed
    case cancelled
}

/// One prescription's workflow: what the server stores for a Task and renders as FHIR on demand.
///
/// Named `PrescriptionTask` so it never shadows Swift's `Task`.
public struct PrescriptionTask: Sendable, Hashable {
    public let id: PrescriptionID
    public var status: TaskStatus
    public var accessCode: AccessCode?
    public var secret: Secret?
    /// `Task.for`: the insured person, known from `$activate` on and kept through `$abort`.
    public var kvnr: KVNR?
    /// `Task.owner`: the pharmacy that accepted or last dispensed.
    public var owner: TelematikID?
    public var createdAt: Date
    public var lastModified: Date
    /// `authoredOn` of the prescription (a FHIR date), from the prescription bundle.
    public var authoredOn: String?
    /// The last day the insurant may redeem it (`GEM_ERP_EX_ExpiryDate`), a FHIR date.
    public var expiryDate: String?
    /// The last day the insurer pays for it (`GEM_ERP_EX_AcceptDate`), a FHIR date.
    public var acceptDate: String?
    /// `GEM_ERP_EX_LastMedicationDispense`: when a dispensation was last stored; `nil` when none is.
    public var lastMedicationDispense: Date?
    /// When the task last went to `in-progress` (the start of the receipt's event period).
    public var acceptedAt: Date?
    /// When `$close` completed it.
    public var completedAt: Date?
    /// The prescription bundle given at `$activate` (the KBV bundle), or `nil` once wiped.
    public var prescription: Element?
    /// The CMS SignedData the prescription came in, as uploaded; `nil` when it came unsigned
    /// (`--accept-unsigned`) or once wiped.
    public var signedPrescription: [UInt8]?
    /// The signed receipt made at `$close`.
    public var receipt: Element?

    public init(id: PrescriptionID, status: TaskStatus, accessCode: AccessCode?, createdAt: Date) {
        self.id = id
        self.status = status
        self.accessCode = accessCode
        self.createdAt = createdAt
        self.lastModified = createdAt
    }

    public var flowType: FlowType { id.flowType }
}

/// One dispensation as a pharmacy reports it: a MedicationDispense and the Medication it names.
public struct Dispensation: Sendable, Hashable {
    public var medicationDispense: Element
    /// The Medication; `nil` only for the DiGA form, which names its app without a Medication.
    public var medication: Element?
    /// Where the MedicationDispense sits in the request body (a FHIRPath such as
    /// `Parameters.parameter[1].part[0].resource`), for the `expression` of an error about it.
    public var location: String
    /// Where the Medication sits in the request body.
    public var medicationLocation: String?

    public init(medicationDispense: Element, medication: Element?, location: String, medicationLocation: String? = nil) {
        self.medicationDispense = medicationDispense
        self.medication = medication
        self.location = location
        self.medicationLocation = medicationLocation
    }

    public var view: MedicationDispenseView { MedicationDispenseView(unchecked: medicationDispense) }

    /// The largest `whenHandedOver` of a set: it chooses the profile version in force.
    public static func latestHandover(of set: [Dispensation]) -> String? {
        set.compactMap(\.view.whenHandedOver).max()
    }
}
