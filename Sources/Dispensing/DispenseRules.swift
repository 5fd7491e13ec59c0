public import FHIRModel
public import Foundation

/// `$dispense` and `$close`: the pharmacy reports what it handed over. Each call with dispensations
/// replaces the whole stored set (A_26482); the server assigns the ids (A_26527).
public enum DispenseRules {
    /// `$dispense` (dispense-spec.md §2, checks 4–14 in this order). `body` is the already decoded
    /// and profile-validated request, or the error decoding or validating it raised: that error
    /// counts only after the task checks, as in the production service. `objected` says whether the
    /// insurant has objected (ARCHITECTURE decision 5): then nothing is stored (423).
    public static func dispense(
        _ task: PrescriptionTask, secret: String?, caller: Caller, body: Result<[Dispensation], any Error>,
        now: Date, ids: some IDGenerator, objected: () throws -> Bool = { false }
    ) throws -> TaskChange {
        try dispense(task, secret: secret, caller: caller, body: body.map { identify($0, task: task.id, ids: ids) }, now: now, objected: objected)
    }

    /// `$dispense` on a body whose ids were assigned before the transaction (``identify(_:task:ids:)``).
    public static func dispense(
        _ task: PrescriptionTask, secret: String?, caller: Caller, body: Result<IdentifiedDispensations, any Error>,
        now: Date, objected: () throws -> Bool = { false }
    ) throws -> TaskChange {
        guard let stored = task.secret, stored.matches(secret) else { throw DispensingError.secretMismatch }
        guard task.status == .inProgress else {
            throw DispensingError.wrongStatus(current: task.status, required: [.inProgress])
        }
        guard let telematikID = caller.telematikID else { throw DispensingError.telematikIDMissing }
        // After the secret: only the pharmacy holding the prescription learns of the objection.
        if try objected() { throw DispensingError.insurantObjected }
        let identified = try body.get()
        let dispensations = identified.dispensations
        guard !dispensations.isEmpty else { throw DispensingError.noDispensationSent }
        try check(dispensations, against: task, telematikID: telematikID)
        identified.requireTask(task.id)
        var next = task
        next.owner = telematikID
        next.lastMedicationDispense = now
        next.lastModified = now
        return TaskChange(
            task: next,
            dispensations: .replace(asStored(dispensations)),
            audit: TaskRules.audit(.dispense, next, caller, now)
        )
    }

    /// `$close`: completes the task (A_19232) and makes the receipt. A body replaces the stored set
    /// (A_26481); without one (`body` is `.success(nil)`) a set must have been dispensed before
    /// (A_24287-01). Check order as in the production service: cancelled, status, secret.
    public static func close(
        _ task: PrescriptionTask, secret: String?, caller: Caller, body: Result<[Dispensation]?, any Error>,
        now: Date, ids: some IDGenerator, receipt: (PrescriptionTask) throws -> Element
    ) throws -> TaskChange {
        let identified = body.map { $0.map { identify($0, task: task.id, ids: ids) } }
        return try close(task, secret: secret, caller: caller, body: identified, now: now, receipt: receipt)
    }

    /// `$close` on a body whose ids were assigned before the transaction (``identify(_:task:ids:)``).
    public static func close(
        _ task: PrescriptionTask, secret: String?, caller: Caller, body: Result<IdentifiedDispensations?, any Error>,
        now: Date, receipt: (PrescriptionTask) throws -> Element
    ) throws -> TaskChange {
        if task.status == .cancelled { throw DispensingError.taskCancelled }
        guard task.status == .inProgress else {
            throw DispensingError.wrongStatus(current: task.status, required: [.inProgress])
        }
        guard let stored = task.secret, stored.matches(secret) else { throw DispensingError.secretMismatch }
        guard let telematikID = caller.telematikID else { throw DispensingError.telematikIDMissing }
        var next = task
        var change = DispensationChange.keep
        if let identified = try body.get(), !identified.dispensations.isEmpty {
            try check(identified.dispensations, against: task, telematikID: telematikID)
            identified.requireTask(task.id)
            change = .replace(asStored(identified.dispensations))
            next.lastMedicationDispense = now
            next.owner = telematikID
        } else if task.lastMedicationDispense == nil {
            throw DispensingError.noDispensationToClose
        }
        next.status = .completed
        next.completedAt = now
        next.lastModified = now
        next.receipt = try receipt(next)
        return TaskChange(task: next, dispensations: change, audit: TaskRules.audit(.close, next, caller, now))
    }

    /// Checks 9, 11, 13, 14 of dispense-spec.md §2 and the expiry rule of ARCHITECTURE decision 4,
    /// dispensation by dispensation.
    static func check(_ dispensations: [Dispensation], against task: PrescriptionTask, telematikID: TelematikID) throws(DispensingError) {
        for dispensation in dispensations {
            let md = dispensation.medicationDispense
            let location = dispensation.location
            let profiles = md.child("meta")?.children(named: "profile").compactMap(\.value) ?? []
            if let index = profiles.firstIndex(where: { $0.contains("GEM_ERP_PR_MedicationDispense_DiGA") }) {
                throw .medicationDispenseProfileNotAllowed(expression: "\(location).meta.profile[\(index)]")
            }
            let identifiers = md.children(named: "identifier")
            guard let index = identifiers.firstIndex(where: { $0.value(of: "system") == Systems.prescriptionID }),
                  identifiers[index].value(of: "value") == task.id.rawValue
            else {
                let index = identifiers.firstIndex { $0.value(of: "system") == Systems.prescriptionID }
                throw .prescriptionIDMismatch(expression: "\(location).identifier" + (index.map { "[\($0)]" } ?? ""))
            }
            let subject = md.descendant("subject", "identifier")
            guard subject?.value(of: "system") == Systems.kvnr, let kvnr = task.kvnr,
                  subject?.value(of: "value") == kvnr.rawValue
            else { throw .kvnrMismatch(expression: "\(location).subject.identifier") }
            let performers = md.children(named: "performer")
            if performers.isEmpty { throw .telematikIDMismatch(expression: "\(location).performer") }
            if let index = performers.firstIndex(where: { $0.descendant("actor", "identifier")?.value(of: "value") != telematikID.rawValue }) {
                throw .telematikIDMismatch(expression: "\(location).performer[\(index)].actor.identifier")
            }
            if let handedOver = md.value(of: "whenHandedOver").flatMap(CalendarDate.datePart(of:)),
               let expiry = dispensation.medication?.descendant("batch", "expirationDate")?.value,
               let expiryDay = CalendarDate.datePart(of: expiry), expiryDay < handedOver {
                let medication = dispensation.medicationLocation ?? "Medication"
                throw .expiredMedicationDispensed(expression: "\(medication).batch.expirationDate")
            }
        }
    }

    /// Gives a request's dispensations the server's ids (A_26527, ARCHITECTURE decision 7):
    /// MedicationDispense ids `<PrescriptionID>`, `<PrescriptionID>-1`, …; each Medication a fresh
    /// UUID, and the dispense's `medicationReference` rewritten to `urn:uuid:<uuid>`, so ids are
    /// unique across an insurant's search results.
    ///
    /// Done before the task's transaction: the ids depend on nothing stored, and the store can then
    /// serialise the resources outside its lock (``TaskStore/update(_:staging:_:)``). Each
    /// dispensation keeps its location in the request body, which the checks' errors name.
    public static func identify(_ dispensations: [Dispensation], task: PrescriptionID, ids: some IDGenerator) -> IdentifiedDispensations {
        IdentifiedDispensations(task: task, dispensations: dispensations.enumerated().map { index, dispensation in
            var identified = dispensation
            identified.medicationDispense = dispensation.medicationDispense.settingResourceID(dispenseID(index, task: task))
            if let medication = dispensation.medication {
                let uuid = ids.uuid()
                identified.medication = medication.settingResourceID(uuid)
                identified.medicationDispense = identified.medicationDispense.settingMedicationReference("urn:uuid:\(uuid)")
            }
            return identified
        })
    }

    /// The set as stored: from now on each resource is found by its id, no longer in a request body.
    static func asStored(_ dispensations: [Dispensation]) -> [Dispensation] {
        dispensations.enumerated().map { index, dispensation in
            var stored = dispensation
            stored.location = "MedicationDispense/\(dispensation.view.id ?? "")"
            stored.medicationLocation = dispensation.medication.map { _ in "Medication" }
            return stored
        }
    }

    static func dispenseID(_ index: Int, task: PrescriptionID) -> String {
        index == 0 ? task.rawValue : "\(task.rawValue)-\(index)"
    }
}

/// A request's dispensations with the server's ids, for one task: made only by
/// ``DispenseRules/identify(_:task:ids:)``, so a rule can rely on every id being the server's.
public struct IdentifiedDispensations: Sendable, Hashable {
    public let task: PrescriptionID
    public let dispensations: [Dispensation]

    fileprivate init(task: PrescriptionID, dispensations: [Dispensation]) {
        self.task = task
        self.dispensations = dispensations
    }

    /// Ids made for another task would be stored under the wrong PrescriptionID: a caller's bug,
    /// never the request's, so it stops here rather than be reported to the pharmacy.
    fileprivate func requireTask(_ id: PrescriptionID) {
        precondition(task == id, "dispensations identified for another task")
    }
}

extension Element {
    /// The resource with `id` set (Resource.id is always the first child).
    func settingResourceID(_ id: String) -> Element {
        var copy = self
        if let index = copy.children.firstIndex(where: { $0.name == "id" }) {
            copy.children[index].value = id
        } else {
            copy.children.insert(Element(name: "id", value: id), at: 0)
        }
        return copy
    }

    /// A MedicationDispense whose `medicationReference.reference` is `reference`, keeping the
    /// reference's other parts (display, extensions).
    func settingMedicationReference(_ reference: String) -> Element {
        var copy = self
        guard let index = copy.children.firstIndex(where: { $0.name == "medicationReference" }) else { return copy }
        if let inner = copy.children[index].children.firstIndex(where: { $0.name == "reference" }) {
            copy.children[index].children[inner].value = reference
        } else {
            let position = copy.children[index].children.firstIndex { $0.name != "id" && $0.name != "extension" } ?? copy.children[index].children.endIndex
            copy.children[index].children.insert(Element(name: "reference", value: reference), at: position)
        }
        return copy
    }
}
