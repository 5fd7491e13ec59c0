/// Every way a workflow operation can be refused, named by what went wrong, never by an HTTP status:
/// the server's error seam maps each case to a status and an OperationOutcome in one exhaustive switch.
///
/// Cases never carry personal data (KVNR, names, medication); positions are FHIRPaths into the
/// request body.
public enum DispensingError: Error, Sendable, Hashable {
    /// The ID in the path is not a PrescriptionID (format or check digits).
    case malformedPrescriptionID
    case taskNotFound
    /// The flow type is one this server does not run (166).
    case unsupportedFlowType
    /// The caller's profession may call the route but not for this task's flow type.
    case professionNotAllowedForFlowType
    /// `?secret=` missing or not the task's.
    case secretMismatch
    /// `?ac=` / `X-AccessCode` missing or not the task's.
    case accessCodeMismatch
    /// The task was cancelled (`$abort`).
    case taskCancelled
    /// The operation needs a status the task does not have; `required` lists the admitted ones.
    case wrongStatus(current: TaskStatus, required: Set<TaskStatus>)
    /// `$accept` on a task that is already processed (draft, in progress, completed).
    case taskAlreadyProcessed(current: TaskStatus, bySameOwner: Bool)
    /// `$accept` after the redemption period (`expiryDate`, a FHIR date).
    case prescriptionExpired(expiryDate: String)
    /// `$accept` of a part of a multiple prescription before its redemption period starts
    /// (A_22635-02): the MVO's id (`urn:uuid:…`, not personal) and the start (a FHIR date).
    case multiplePrescriptionNotYetRedeemable(mvoID: String, start: String)
    /// `$abort` of a task that has never been activated.
    case abortOfDraft
    /// The access token has no Telematik-ID (`idNummer`).
    case telematikIDMissing
    /// An insurant acting on a task that is not theirs.
    case notTheInsurantsTask
    /// `GET /Task/{id}?ac=` by a pharmacy that is not the task's owner (A_24176-01: 412).
    case notTheOwner
    /// A pharmacy's `GET /Task/{id}` with neither `?ac=` nor `?secret=`.
    case readCredentialMissing
    /// An insurant's `GET /Task/{id}` of a draft.
    case draftNotReadable
    /// A KVNR verification (test) identity reading a real insurant's task or vice versa (A_20753).
    case verificationIdentityMismatch
    /// A representative reading a directly assigned task (flows 169, 209; A_26148).
    case representativeOfDirectAssignment
    /// `GET /Task/{id}?ac=` before the task was accepted or after it ended (A_24178-02).
    case taskNotAccepted
    /// The prescription bundle given at `$activate` is unusable (what is wrong, and where).
    case invalidPrescription(reason: String, expression: String)
    /// `$activate` refuses the prescription for one of the production service's reasons (its
    /// signature or its content), worded as the FD words it.
    case prescriptionRefused(PrescriptionRefusal)
    /// The bundle's PrescriptionID is not the task's.
    case prescriptionIDMismatchInPrescription(expression: String)
    /// A MedicationDispense names another prescription.
    case prescriptionIDMismatch(expression: String)
    /// A MedicationDispense names another insured person, or writes the KVNR with another system.
    case kvnrMismatch(expression: String)
    /// A MedicationDispense names another pharmacy than the caller.
    case telematikIDMismatch(expression: String)
    /// The DiGA MedicationDispense profile on a flow type that dispenses medicines (A_26002-02).
    case medicationDispenseProfileNotAllowed(expression: String)
    /// A MedicationDispense that is not the DiGA profile on the DiGA flow 162 (A_26003-01).
    case healthAppDispenseRequired(expression: String)
    /// A batch whose `expirationDate` lies before `whenHandedOver` (``DispensingPolicy/strict`` only).
    case expiredMedicationDispensed(expression: String)
    /// More dispensed than prescribed (``DispensingPolicy/strict`` only): the set's total and the
    /// prescribed quantity (decimals as text) in the prescription's unit (`Packung`).
    case quantityExceedsPrescription(expression: String, dispensed: String, prescribed: String, unit: String)
    /// The prescriber excluded substitution (aut idem) and another product was dispensed
    /// (``DispensingPolicy/strict`` only).
    case substitutionExcluded(expression: String)
    /// `$dispense` with a body that holds no dispensation (the profile demands one; checked here too
    /// so an empty set can never be stored as "dispensed").
    case noDispensationSent
    /// `$close` without a body and without a stored dispensation.
    case noDispensationToClose
    /// `$dispense` for an insured person who has objected (ARCHITECTURE decision 5).
    case insurantObjected
}
