public import FHIRModel
public import Foundation

/// `$dispense` and `$close`: the pharmacy reports what it handed over. Each call with dispensations
/// replaces the whole stored set (A_26482); the server assigns the ids (A_26527).
public enum DispenseRules {
    /// `$dispense` (dispense-spec.md §2, checks 4–14 in this order). `body` is the already decoded
    /// and profile-validated request, or the error decoding or validating it raised: that error
    /// counts only after the task checks, as in the production service. `objected` says whether the
    /// insurant has objected (ARCHITECTURE decision 5): then nothing is stored (423). `policy`'s rules
    /// run last, after every FD check (ARCHITECTURE decision 14).
    public static func dispense(
        _ task: PrescriptionTask, secret: String?, caller: Caller, body: Result<[Dispensation], any Error>,
        now: Date, ids: some IDGenerator, policy: DispensingPolicy = .fd, objected: () throws -> Bool = { false }
    ) throws -> TaskChange {
        let telematikID = try admitDispense(task, secret: secret, caller: caller)
        // After the secret: only the pharmacy holding the prescription learns of the objection.
        if try objected() { throw DispensingError.insurantObjected }
        let dispensations = try body.get()
        guard !dispensations.isEmpty else { throw DispensingError.noDispensationSent }
        try check(dispensations, against: task, telematikID: telematikID)
        try policy.check(dispensations, against: task)
        var next = task
        next.owner = telematikID
        next.lastMedicationDispense = now
        next.lastModified = now
        return TaskChange(
            task: next,
            dispensations: .replace(assignIDs(dispensations, task: task.id, ids: ids)),
            audit: TaskRules.audit(.dispense, next, caller, now)
        )
    }

    /// The checks of `$dispense` that need no body (dispense-spec.md §2, checks 4–6: secret, status,
    /// Telematik-ID), in the production service's order. The server runs them before it reads a
    /// large body, so that nobody without the secret can make it parse and validate one; `dispense`
    /// runs them again inside the transaction. Returns the caller's Telematik-ID.
    @discardableResult
    public static func admitDispense(_ task: PrescriptionTask, secret: String?, caller: Caller) throws(DispensingError) -> TelematikID {
        guard let stored = task.secret, stored.matches(secret) else { throw .secretMismatch }
        guard task.status == .inProgress else { throw .wrongStatus(current: task.status, required: [.inProgress]) }
        guard let telematikID = caller.telematikID else { throw .telematikIDMissing }
        return telematikID
    }

    /// The checks of `$close` that need no body (cancelled, status, secret, Telematik-ID), as
    /// ``admitDispense(_:secret:caller:)`` for `$dispense`.
    @discardableResult
    public static func admitClose(_ task: PrescriptionTask, secret: String?, caller: Caller) throws(DispensingError) -> TelematikID {
        if task.status == .cancelled { throw .taskCancelled }
        guard task.status == .inProgress else { throw .wrongStatus(current: task.status, required: [.inProgress]) }
        guard let stored = task.secret, stored.matches(secret) else { throw .secretMismatch }
        guard let telematikID = caller.telematikID else { throw .telematikIDMissing }
        return telematikID
    }

    /// `$close`: completes the task (A_19232) and makes the receipt. A body replaces the stored set
    /// (A_26481); without one (`body` is `.success(nil)`) a set must have been dispensed before
    /// (A_24287-01). Check order as in the production service: cancelled, status, secret.
    /// `policy`'s rules run last (ARCHITECTURE decision 14) on the set the task keeps: the body's, or
    /// without one the stored set, which `stored` reads (only when the policy has rules).
    public static func close(
        _ task: PrescriptionTask, secret: String?, caller: Caller, body: Result<[Dispensation]?, any Error>,
        now: Date, ids: some IDGenerator, policy: DispensingPolicy = .fd, stored: () throws -> [Dispensation] = { [] },
        receipt: (PrescriptionTask) throws -> Element
    ) throws -> TaskChange {
        let telematikID = try admitClose(task, secret: secret, caller: caller)
        var next = task
        var change = DispensationChange.keep
        if let dispensations = try body.get(), !dispensations.isEmpty {
            try check(dispensations, against: task, telematikID: telematikID)
            try policy.check(dispensations, against: task)
            change = .replace(assignIDs(dispensations, task: task.id, ids: ids))
            next.lastMedicationDispense = now
            next.owner = telematikID
        } else if task.lastMedicationDispense == nil {
            throw DispensingError.noDispensationToClose
        } else if policy.addsRules {
            try policy.check(try stored().map(\.namedByStoredID), against: task)
        }
        next.status = .completed
        next.completedAt = now
        next.lastModified = now
        next.receipt = try receipt(next)
        return TaskChange(task: next, dispensations: change, audit: TaskRules.audit(.close, next, caller, now))
    }

    /// Checks 9, 11, 13, 14 of dispense-spec.md §2, dispensation by dispensation: the FD's checks
    /// of the content. (The expiry rule of ARCHITECTURE decision 4 is `strict`'s since decision 14:
    /// ``StrictDispenseRules``.)
    static func check(_ dispensations: [Dispensation], against task: PrescriptionTask, telematikID: TelematikID) throws(DispensingError) {
        for dispensation in dispensations {
            let md = dispensation.medicationDispense
            let location = dispensation.location
            let profiles = md.child("meta")?.children(named: "profile").compactMap(\.value) ?? []
            let digaIndex = profiles.firstIndex { $0.contains("GEM_ERP_PR_MedicationDispense_DiGA") }
            if task.flowType == .diga {
                // A_26003-01: a DiGA is dispensed with the DiGA profile only.
                if digaIndex == nil { throw .healthAppDispenseRequired(expression: "\(location).meta.profile") }
            } else if let digaIndex {
                // A_26002-02: the medicine flows refuse the DiGA profile.
                throw .medicationDispenseProfileNotAllowed(expression: "\(location).meta.profile[\(digaIndex)]")
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
        }
    }

    /// MedicationDispense ids `<PrescriptionID>`, `<PrescriptionID>-1`, …, each pointing to its
    /// Task by `supportingInformation` (A_27052, A_27051); each Medication a fresh
    /// UUID, and the dispense's `medicationReference` rewritten to `urn:uuid:<uuid>` so ids are unique
    /// across an insurant's search results.
    static func assignIDs(_ dispensations: [Dispensation], task: PrescriptionID, ids: some IDGenerator) -> [Dispensation] {
        dispensations.enumerated().map { index, dispensation in
            let dispenseID = index == 0 ? task.rawValue : "\(task.rawValue)-\(index)"
            var md = dispensation.medicationDispense.settingResourceID(dispenseID).addingSupportingTask(task)
            var medication = dispensation.medication
            if let current = medication {
                let uuid = ids.uuid()
                medication = current.settingResourceID(uuid)
                md = md.settingMedicationReference("urn:uuid:\(uuid)")
            }
            return Dispensation(
                medicationDispense: md, medication: medication,
                location: "MedicationDispense/\(dispenseID)", medicationLocation: medication.map { _ in "Medication" }
            )
        }
    }
}

extension Dispensation {
    /// Whether two sets hold the same dispensations, whatever ids the server gave their
    /// Medications (a fresh UUID per `$dispense`, so the references differ too).
    /// The children are compared by name, not position: a set read back from the store is in
    /// definition order, one from a request in the order the pharmacy sent it.
    public static func sameContent(_ left: [Dispensation], _ right: [Dispensation]) -> Bool {
        left.count == right.count && zip(left, right).allSatisfy { left, right in
            left.medicationDispense.settingMedicationReference("").orderedByName == right.medicationDispense.settingMedicationReference("").orderedByName
                && left.medication?.settingResourceID("").orderedByName == right.medication?.settingResourceID("").orderedByName
        }
    }
}

extension Element {
    /// The element with its children, at every depth, in the order of their names; children of one
    /// name (a repeated element) keep their order, which carries meaning.
    var orderedByName: Element {
        var copy = self
        copy.children = children.enumerated()
            .sorted { $0.element.name == $1.element.name ? $0.offset < $1.offset : $0.element.name < $1.element.name }
            .map(\.element.orderedByName)
        return copy
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

    /// A MedicationDispense with `supportingInformation` `Task/<id>`, unless it already has it.
    func addingSupportingTask(_ task: PrescriptionID) -> Element {
        let reference = "Task/\(task.rawValue)"
        guard !children.contains(where: { $0.name == "supportingInformation" && $0.child("reference")?.value == reference }) else { return self }
        var copy = self
        copy.children.append(Element(name: "supportingInformation", children: [Element(name: "reference", value: reference)]))
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
