public import FHIRModel
public import Foundation

/// The workflow's use cases: each one loads the task under the store's lock, applies the pure rule
/// and stores the change, with its registry transfer, in the same transaction. The server calls
/// these with already-parsed input.
public struct DispensingService: Sendable {
    public let store: any TaskStore
    public let clock: any WallClock
    public let ids: any IDGenerator
    /// Brings the insurant's objection state up to date before `$dispense` decides on it.
    public let objectionRegistry: any ObjectionRegistry
    /// Makes the signed receipt of a completed task (the server owns the signing key). It runs inside
    /// the transaction: if it fails, the task is not completed.
    public let receiptIssuer: @Sendable (PrescriptionTask) throws -> Element
    /// What `$dispense` answers when the insurant objected.
    public let objectionResponse: ObjectionResponse
    /// The business rules `$dispense` and `$close` apply beyond the FD's (`--rules`; ARCHITECTURE
    /// decision 14). A `var` so a test can run one server in either mode.
    public var rules: DispensingPolicy

    public init(
        store: any TaskStore, clock: any WallClock = SystemWallClock(), ids: any IDGenerator = RandomIDGenerator(),
        objectionRegistry: any ObjectionRegistry = StoredObjectionsOnly(), objectionResponse: ObjectionResponse = .locked,
        rules: DispensingPolicy = .fd, receiptIssuer: @escaping @Sendable (PrescriptionTask) throws -> Element
    ) {
        self.objectionResponse = objectionResponse
        self.rules = rules
        self.store = store
        self.clock = clock
        self.ids = ids
        self.objectionRegistry = objectionRegistry
        self.receiptIssuer = receiptIssuer
    }

    /// `$create`. A random serial that is already taken is drawn again.
    public func create(flowType: FlowType, caller: Caller) async throws -> PrescriptionTask {
        for _ in 0..<8 {
            let change = try TaskRules.create(flowType: flowType, caller: caller, now: clock.now(), ids: ids)
            if try await store.insert(change.task, audit: change.audit) { return change.task }
        }
        throw ServiceFailure.noFreePrescriptionID
    }

    public func activate(
        _ id: PrescriptionID, accessCode: String?, prescription: PrescriptionBundle, caller: Caller,
        practitionerNumbers: PractitionerNumberPolicy = .warning,
        dischargeValidityWorkdays: Int = RedemptionDates.defaultDischargeValidityWorkdays
    ) async throws -> PrescriptionTask {
        let now = clock.now()
        return try await update(id) { task in
            try TaskRules.activate(task, accessCode: accessCode, prescription: prescription, caller: caller, now: now,
                                   practitionerNumbers: practitionerNumbers, dischargeValidityWorkdays: dischargeValidityWorkdays)
        }
    }

    public func accept(_ id: PrescriptionID, accessCode: String?, caller: Caller) async throws -> PrescriptionTask {
        let now = clock.now()
        let ids = self.ids
        return try await update(id) { task in try TaskRules.accept(task, accessCode: accessCode, caller: caller, now: now, ids: ids) }
    }

    /// `$dispense`: returns the stored set (ids assigned) for the `Prefer` variants. The rule decides
    /// on the stored objections; when the insurant's registry decision is not current, the
    /// transaction gives way first, the decision is refreshed (within its budget, outside the
    /// transaction, so a slow registry never holds the store's lock), and the transaction runs again
    /// on what that stored. Only a caller who holds the secret of a task in progress makes the server
    /// ask the registry: nobody else can make it look an insurant up, or learn from the answer's
    /// timing. Deciding this on the transaction's snapshot, not on a read before it, costs a request
    /// whose decision is current nothing at all.
    public func dispense(_ id: PrescriptionID, secret: String?, caller: Caller, body: Result<[Dispensation], any Error>) async throws -> [Dispensation] {
        let now = clock.now()
        let ids = self.ids
        let registry = objectionRegistry
        let response = objectionResponse
        let rules = self.rules
        var mayAsk = true
        while true {
            do {
                return try await store.update(id) { [mayAsk] snapshot in
                    let task = snapshot.task
                    if mayAsk, let kvnr = task.kvnr, task.status == .inProgress, task.secret?.matches(secret) == true,
                       registry.needsRefresh(kvnr) {
                        throw RefreshFirst(kvnr: kvnr)
                    }
                    let objected = { try task.kvnr.map { try !snapshot.objections($0).isEmpty } ?? false }
                    var change = try DispenseRules.dispense(task, secret: secret, caller: caller, body: body, now: now, ids: ids, policy: rules,
                                                            objected: response == .locked ? objected : { false })
                    // `fd`: stored and answered 204, but nothing about the insurant goes to the registry.
                    if try response == .locked || !objected() {
                        change.transfer = try RegistryTransfers.transfer(for: change, before: task, storedDispensations: snapshot.dispensations, ids: ids)
                    }
                    change.events = DispensingEvent.events(of: change, before: task, ids: ids)
                    guard case .replace(let stored) = change.dispensations else { return (change, []) }
                    return (change, stored)
                }
            } catch let refresh as RefreshFirst {
                await registry.refresh(refresh.kvnr)
                mayAsk = false
            }
        }
    }

    /// Ends a `$dispense` transaction that must wait for the registry's decision; never leaves
    /// `dispense`.
    private struct RefreshFirst: Error {
        let kvnr: KVNR
    }

    /// `$close`: returns the completed task, whose `receipt` is set. Never blocked by an objection
    /// (the insurant gets the medicine, the pharmacy its receipt), but then nothing is transferred
    /// to the registry; a T-Rezept's BfArM copy is written all the same (A_27823). `signingTime`
    /// reads the QES signing time from the stored CMS (the server knows CMS, the domain does not).
    public func close(
        _ id: PrescriptionID, secret: String?, caller: Caller, body: Result<[Dispensation]?, any Error>,
        signingTime: @escaping @Sendable ([UInt8]) -> Date? = { _ in nil }
    ) async throws -> PrescriptionTask {
        let now = clock.now()
        let ids = self.ids
        let issuer = receiptIssuer
        let rules = self.rules
        return try await updateSnapshot(id, signingTime: signingTime) { snapshot in
            try DispenseRules.close(snapshot.task, secret: secret, caller: caller, body: body, now: now, ids: ids, policy: rules,
                                    stored: snapshot.dispensations, receipt: issuer)
        }
    }

    public func reject(_ id: PrescriptionID, secret: String?, caller: Caller) async throws {
        let now = clock.now()
        _ = try await update(id) { task in try TaskRules.reject(task, secret: secret, caller: caller, now: now) }
    }

    public func abort(_ id: PrescriptionID, secret: String?, accessCode: String?, caller: Caller) async throws {
        let now = clock.now()
        _ = try await update(id) { task in try TaskRules.abort(task, secret: secret, accessCode: accessCode, caller: caller, now: now) }
    }

    /// The operations whose checks that need no body the server runs before it reads the body.
    public enum BodyOperation: Sendable {
        case activate(accessCode: String?)
        case dispense(secret: String?)
        case close(secret: String?)
    }

    /// Runs the checks of `operation` that need no body on the stored task, as its rule runs them
    /// (404, 403, 410 in the production service's order), so that a caller without the task's
    /// credential never makes the server parse and validate a body. Only a first look: the
    /// operation itself checks again inside its transaction.
    public func admit(_ id: PrescriptionID, for operation: BodyOperation, caller: Caller) async throws {
        guard let task = try await store.task(id) else { throw DispensingError.taskNotFound }
        switch operation {
        case .activate(let accessCode): try TaskRules.admitActivate(task, accessCode: accessCode)
        case .dispense(let secret): try DispenseRules.admitDispense(task, secret: secret, caller: caller)
        case .close(let secret): try DispenseRules.admitClose(task, secret: secret, caller: caller)
        }
    }

    /// `GET /Task/{id}`: the task if the caller may read it, and how they were let in. The read is
    /// audited (events 1–3) before the task is handed out.
    /// `audited: false` for a `HEAD`, which hands nothing out.
    public func readTask(_ id: PrescriptionID, secret: String?, accessCode: String?, caller: Caller,
                         audited: Bool = true) async throws -> (PrescriptionTask, ReadRules.Access) {
        try ReadRules.admit(secret: secret, accessCode: accessCode, caller: caller)
        guard let task = try await store.task(id) else { throw DispensingError.taskNotFound }
        let access = try ReadRules.read(task, secret: secret, accessCode: accessCode, caller: caller)
        if audited { try await store.record([ReadRules.audit(access, task, caller: caller, now: clock.now())]) }
        return (task, access)
    }

    /// Records that an insurant read their dispensations (event 12): of one task when the search
    /// named exactly one, else of none.
    public func auditDispensationRead(of kvnr: KVNR, prescriptionID: PrescriptionID?, caller: Caller) async throws {
        try await store.record([AuditEntry(action: .readDispensations, prescriptionID: prescriptionID, caller: caller, kvnr: kvnr, recorded: clock.now())])
    }

    /// Runs a rule under the store's lock and adds the registry transfer its change calls for,
    /// unless the insurant has objected: then nothing about them goes to the registry.
    private func update(
        _ id: PrescriptionID, signingTime: @escaping @Sendable ([UInt8]) -> Date? = { _ in nil },
        _ rule: @escaping @Sendable (PrescriptionTask) throws -> TaskChange
    ) async throws -> PrescriptionTask {
        try await updateSnapshot(id, signingTime: signingTime) { snapshot in try rule(snapshot.task) }
    }

    /// As `update`, for a rule that reads more of the transaction's snapshot than the task (`$close`
    /// judging the stored set).
    private func updateSnapshot(
        _ id: PrescriptionID, signingTime: @escaping @Sendable ([UInt8]) -> Date? = { _ in nil },
        _ rule: @escaping @Sendable (TaskSnapshot) throws -> TaskChange
    ) async throws -> PrescriptionTask {
        let ids = self.ids
        return try await store.update(id) { snapshot in
            var change = try rule(snapshot)
            // Objections are read only for a change the registry would learn of; the insurant is the
            // one after the change (`$activate` learns the KVNR from the prescription).
            let transfer = try RegistryTransfers.transfer(for: change, before: snapshot.task, storedDispensations: snapshot.dispensations, ids: ids)
            if let transfer, try snapshot.objections(transfer.kvnr).isEmpty { change.transfer = transfer }
            change.events = DispensingEvent.events(of: change, before: snapshot.task, ids: ids)
            // Not subject to the objections: the BfArM copy is no ePA data (A_27823).
            change.carbonCopy = try CarbonCopies.copy(for: change, storedDispensations: snapshot.dispensations,
                                                      signedAt: change.task.signedPrescription.flatMap(signingTime), ids: ids)
            return (change, change.task)
        }
    }

    public enum ServiceFailure: Error, Sendable {
        /// Eight random serials in a row were taken: the ID space is (nearly) exhausted.
        case noFreePrescriptionID
    }
}
