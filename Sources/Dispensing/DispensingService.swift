public import FHIRModel
public import Foundation

/// The workflow's use cases: each one loads the task under the store's lock, applies the pure rule
/// and stores the change in the same transaction. The server calls these with already-parsed input.
public struct DispensingService: Sendable {
    public let store: any TaskStore
    public let clock: any WallClock
    public let ids: any IDGenerator
    /// Makes the signed receipt of a completed task (the server owns the signing key). It runs inside
    /// the transaction: if it fails, the task is not completed.
    public let receiptIssuer: @Sendable (PrescriptionTask) throws -> Element

    public init(
        store: any TaskStore, clock: any WallClock = SystemWallClock(), ids: any IDGenerator = RandomIDGenerator(),
        receiptIssuer: @escaping @Sendable (PrescriptionTask) throws -> Element
    ) {
        self.store = store
        self.clock = clock
        self.ids = ids
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

    public func activate(_ id: PrescriptionID, accessCode: String?, prescription: PrescriptionBundle, caller: Caller) async throws -> PrescriptionTask {
        let now = clock.now()
        return try await store.update(id) { task in
            let change = try TaskRules.activate(task, accessCode: accessCode, prescription: prescription, caller: caller, now: now)
            return (change, change.task)
        }
    }

    public func accept(_ id: PrescriptionID, accessCode: String?, caller: Caller) async throws -> PrescriptionTask {
        let now = clock.now()
        let ids = self.ids
        return try await store.update(id) { task in
            let change = try TaskRules.accept(task, accessCode: accessCode, caller: caller, now: now, ids: ids)
            return (change, change.task)
        }
    }

    /// `$dispense`: returns the stored set (ids assigned) for the `Prefer` variants.
    public func dispense(_ id: PrescriptionID, secret: String?, caller: Caller, body: Result<[Dispensation], any Error>) async throws -> [Dispensation] {
        let now = clock.now()
        let ids = self.ids
        return try await store.update(id) { task in
            let change = try DispenseRules.dispense(task, secret: secret, caller: caller, body: body, now: now, ids: ids)
            guard case .replace(let stored) = change.dispensations else { return (change, []) }
            return (change, stored)
        }
    }

    /// `$close`: returns the completed task, whose `receipt` is set.
    public func close(_ id: PrescriptionID, secret: String?, caller: Caller, body: Result<[Dispensation]?, any Error>) async throws -> PrescriptionTask {
        let now = clock.now()
        let ids = self.ids
        let issuer = receiptIssuer
        return try await store.update(id) { task in
            let change = try DispenseRules.close(task, secret: secret, caller: caller, body: body, now: now, ids: ids, receipt: issuer)
            return (change, change.task)
        }
    }

    public func reject(_ id: PrescriptionID, secret: String?, caller: Caller) async throws {
        let now = clock.now()
        try await store.update(id) { task in (try TaskRules.reject(task, secret: secret, caller: caller, now: now), ()) }
    }

    public func abort(_ id: PrescriptionID, secret: String?, accessCode: String?, caller: Caller) async throws {
        let now = clock.now()
        try await store.update(id) { task in
            (try TaskRules.abort(task, secret: secret, accessCode: accessCode, caller: caller, now: now), ())
        }
    }

    /// `GET /Task/{id}`: the task if the caller may read it.
    public func readTask(_ id: PrescriptionID, secret: String?, accessCode: String?, caller: Caller) async throws -> PrescriptionTask {
        guard let task = try await store.task(id) else { throw DispensingError.taskNotFound }
        try TaskRules.authorizeRead(task, secret: secret, accessCode: accessCode, caller: caller)
        return task
    }

    public enum ServiceFailure: Error, Sendable {
        /// Eight random serials in a row were taken: the ID space is (nearly) exhausted.
        case noFreePrescriptionID
    }
}
