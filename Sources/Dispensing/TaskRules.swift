public import Foundation

/// The Task state machine: `draft → ready → in-progress → completed`, `cancelled` from any active
/// state, and `$reject` back to `ready`. Each operation is a pure function from the stored task and
/// the caller's input to the change to store, or a `DispensingError`.
///
/// The order of the checks is the production Fachdienst's (dispense-spec.md §2–§4), because
/// conformance suites assert which error wins when several apply.
public enum TaskRules {
    /// `$create`: a new draft task with a fresh AccessCode.
    public static func create(flowType: FlowType, caller: Caller, now: Date, ids: some IDGenerator) throws(DispensingError) -> TaskChange {
        guard FlowType.supported.contains(flowType) else { throw .unsupportedFlowType }
        let id = PrescriptionID(flowType: flowType, serial: ids.prescriptionSerial())
        let task = PrescriptionTask(id: id, status: .draft, accessCode: ids.credential(), createdAt: now)
        return TaskChange(task: task, audit: AuditEntry(action: .create, prescriptionID: id, caller: caller, kvnr: nil, recorded: now))
    }

    /// `$activate`: the prescriber hands in the prescription; after the production service's checks
    /// of its content (``PrescriptionChecks``) the task becomes `ready` with its redemption dates:
    /// 3 months to redeem (A_19445), GKV pays for 28 days, PKV for the 3 months; a part of a multiple
    /// prescription until the end of its period, else a year after signing (fd-parity.md §8.3); a
    /// T-Rezept six days (A_27846); a discharge prescription's accept date `dischargeValidityWorkdays`
    /// working days from the signing day, whatever the flow (A_19517-04, ``RedemptionDates``).
    public static func activate(
        _ task: PrescriptionTask, accessCode: String?, prescription: PrescriptionBundle, caller: Caller, now: Date,
        practitionerNumbers: PractitionerNumberPolicy = .warning,
        dischargeValidityWorkdays: Int = RedemptionDates.defaultDischargeValidityWorkdays
    ) throws(DispensingError) -> TaskChange {
        try admitActivate(task, accessCode: accessCode)
        let findings = try PrescriptionChecks.check(prescription, flowType: task.flowType, taskID: task.id,
                                                    practitionerNumbers: practitionerNumbers)
        var next = task
        next.status = .ready
        next.kvnr = prescription.kvnr
        next.authoredOn = prescription.authoredOn
        next.prescription = prescription.bundle
        next.signedPrescription = prescription.signedData
        // The FD counts from the signing day, which A_22487 makes the authoredOn day.
        let issued = prescription.signedAt.map(CalendarDate.day(of:)) ?? prescription.authoredOn
        if findings.isMultiple {
            next.expiryDate = findings.multipleEnd ?? CalendarDate.adding(days: 365, to: issued)
            next.acceptDate = next.expiryDate
        } else {
            next.expiryDate = CalendarDate.adding(months: 3, to: issued)
            switch task.flowType {
            // 162 as IBM `Task::setAcceptDateDependentPrescriptionType` runs it (its labels say A_27845 at the 28 days).
            case .pkvPharmacy, .pkvDirectAssignment, .diga:
                next.acceptDate = next.expiryDate
            case .gkvPharmacy, .gkvDirectAssignment, .tPrescription:
                next.acceptDate = CalendarDate.adding(days: 28, to: issued)
            }
        }
        // A_27846: the T-Rezept's own dates replace the ones above (an MVO T-Rezept was refused).
        if task.flowType == .tPrescription {
            next.expiryDate = RedemptionDates.tPrescriptionExpiry(signedAt: prescription.signedAt, issued: issued)
            next.acceptDate = CalendarDate.adding(days: 6, to: issued)
        }
        // A_19517-04: discharge prescriptions of every flow (an MVO one was refused, A_22632).
        if !findings.isMultiple, RedemptionDates.isDischarge(legalBasis: findings.legalBasis) {
            next.acceptDate = RedemptionDates.dischargeAcceptDate(issued: issued, validityWorkdays: dischargeValidityWorkdays)
        }
        next.lastModified = now
        return TaskChange(task: next, audit: audit(.activate, next, caller, now))
    }

    /// The checks of `$activate` that need no prescription (cancelled, AccessCode, status): the
    /// server runs them before it reads a large body; `activate` runs them again in the transaction.
    public static func admitActivate(_ task: PrescriptionTask, accessCode: String?) throws(DispensingError) {
        if task.status == .cancelled { throw .taskCancelled }
        guard let stored = task.accessCode, stored.matches(accessCode) else { throw .accessCodeMismatch }
        guard task.status == .draft else { throw .wrongStatus(current: task.status, required: [.draft]) }
    }

    /// `$accept`: a pharmacy takes the prescription; it gets the Secret and becomes the owner.
    public static func accept(_ task: PrescriptionTask, accessCode: String?, caller: Caller, now: Date, ids: some IDGenerator) throws(DispensingError) -> TaskChange {
        guard let stored = task.accessCode, task.status != .cancelled else { throw .taskCancelled }
        guard stored.matches(accessCode) else { throw .accessCodeMismatch }
        guard task.status == .ready else {
            throw .taskAlreadyProcessed(current: task.status, bySameOwner: task.owner != nil && task.owner == caller.telematikID)
        }
        if let expiry = task.expiryDate, CalendarDate.day(of: now) > expiry { throw .prescriptionExpired(expiryDate: expiry) }
        if let bundle = task.prescription, let (mvoID, start) = MultiplePrescriptionRules.notYetRedeemable(bundle, on: CalendarDate.day(of: now)) {
            throw .multiplePrescriptionNotYetRedeemable(mvoID: mvoID, start: start)
        }
        guard let telematikID = caller.telematikID else { throw .telematikIDMissing }
        var next = task
        next.status = .inProgress
        next.secret = ids.credential()
        next.owner = telematikID
        next.acceptedAt = now
        next.lastModified = now
        return TaskChange(task: next, audit: audit(.accept, next, caller, now))
    }

    /// `$reject`: the pharmacy gives the prescription back; the secret, the owner and any stored
    /// dispensation go (A_19172-01, A_24175, A_24286-02).
    public static func reject(_ task: PrescriptionTask, secret: String?, caller: Caller, now: Date) throws(DispensingError) -> TaskChange {
        if task.status == .cancelled { throw .taskCancelled }
        guard task.status == .inProgress else { throw .wrongStatus(current: task.status, required: [.inProgress]) }
        guard let stored = task.secret, stored.matches(secret) else { throw .secretMismatch }
        var next = task
        next.status = .ready
        next.secret = nil
        next.owner = nil
        next.acceptedAt = nil
        next.lastMedicationDispense = nil
        next.lastModified = now
        return TaskChange(task: next, dispensations: .delete, audit: audit(.reject, next, caller, now))
    }

    /// `$abort`: deletes the prescription. Everything personal goes except the KVNR (A_19027-06).
    /// Who may abort depends on the caller (A_19145-01, A_19146, A_19120-03, A_20546-03, A_22102-01).
    public static func abort(
        _ task: PrescriptionTask, secret: String?, accessCode: String?, caller: Caller, now: Date
    ) throws(DispensingError) -> TaskChange {
        if task.status == .draft { throw .abortOfDraft }
        if task.status == .cancelled { throw .taskCancelled }
        var representative = false
        if caller.profession.isPharmacy {
            guard task.status == .inProgress else { throw .wrongStatus(current: task.status, required: [.inProgress]) }
            guard let stored = task.secret, stored.matches(secret) else { throw .secretMismatch }
        } else {
            guard task.status != .inProgress else { throw .wrongStatus(current: task.status, required: [.ready, .completed]) }
            if caller.profession == .insurant {
                let ownTask = caller.kvnr != nil && caller.kvnr == task.kvnr
                representative = !ownTask && task.accessCode?.matches(accessCode) == true
                guard ownTask || representative else { throw .notTheInsurantsTask }
                if task.flowType.isDirectAssignment, task.status != .completed {
                    throw .wrongStatus(current: task.status, required: [.completed])
                }
            } else {
                guard task.status == .ready else { throw .wrongStatus(current: task.status, required: [.ready]) }
                guard let stored = task.accessCode, stored.matches(accessCode) else { throw .accessCodeMismatch }
            }
        }
        var next = task
        next.status = .cancelled
        next.accessCode = nil
        next.secret = nil
        next.owner = nil
        next.lastMedicationDispense = nil
        next.prescription = nil
        next.signedPrescription = nil
        next.receipt = nil
        next.lastModified = now
        var entry = audit(.abort, next, caller, now)
        entry.representative = representative
        return TaskChange(task: next, dispensations: .delete, audit: entry, deleteCommunications: true)
    }

    static func audit(_ action: AuditEntry.Action, _ task: PrescriptionTask, _ caller: Caller, _ now: Date) -> AuditEntry {
        AuditEntry(action: action, prescriptionID: task.id, caller: caller, kvnr: task.kvnr, recorded: now)
    }
}
