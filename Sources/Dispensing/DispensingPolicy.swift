public import FHIRModel

/// Which business rules `$dispense` and `$close` apply beyond the production service's checks
/// (ARCHITECTURE decision 14; `erx serve --rules`, `ERX_RULES`).
///
/// `fd` is the default so that a suite written against the production Fachdienst (FD) sees exactly
/// the FD's answers. `strict` is ours: the FD has none of its rules; other dispensing systems
/// enforce them. Each strict rule refuses with a ``DispensingError`` the error seam answers with 422
/// `business-rule` and the FHIRPath of the offending element.
public enum DispensingPolicy: String, Sendable, Hashable, CaseIterable {
    /// Exactly the FD's checks, nothing more.
    case fd
    /// The FD's checks, then ``StrictDispenseRules``: a batch expired before hand-over, a substitution
    /// the prescriber excluded (aut idem), more dispensed than prescribed.
    case strict

    /// Whether the policy has rules beyond the FD's: only then does `$close` without a body read the
    /// stored set to judge it (in `fd` mode it costs no query, as in the FD).
    public var addsRules: Bool { self != .fd }

    /// Judges `set`, the whole dispensation set the task will hold once the operation is done (each
    /// `$dispense` and each `$close` with a body replaces the stored set, A_26482, A_26481; `$close`
    /// without one keeps it), against the task's prescription.
    ///
    /// Runs after every FD check of the operation, so a body the FD refuses gets the FD's answer
    /// whatever the policy: the strict rules can only refuse what the FD would accept.
    public func check(_ set: [Dispensation], against task: PrescriptionTask) throws(DispensingError) {
        switch self {
        case .fd: return
        case .strict: try StrictDispenseRules.check(set, prescription: task.prescription.map(KBVPrescriptionView.init))
        }
    }
}

extension Dispensation {
    /// A stored dispensation named by FHIRPaths on its own resources: `$close` without a body has no
    /// request body to point into, so an error about the stored set names the resource by its id
    /// (`MedicationDispense.where(id='160.…')`, `Medication.where(id='<uuid>')`). Ids are
    /// `[A-Za-z0-9.-]`, so they need no escaping inside the quotes.
    var namedByStoredID: Dispensation {
        var copy = self
        if let id = medicationDispense.value(of: "id") { copy.location = "MedicationDispense.where(id='\(id)')" }
        if let id = medication?.value(of: "id") { copy.medicationLocation = "Medication.where(id='\(id)')" }
        return copy
    }
}
