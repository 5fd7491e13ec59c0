public import Foundation

/// Something a dispensing system may want to hear of (issue 23, item 3; our own addition, the FD has
/// no webhooks). Derived from the change that causes it and written, one delivery row per matching
/// subscription of the task's pharmacy, in that change's transaction (ARCHITECTURE decision 13).
public struct DispensingEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Each `$dispense`.
        case dispenseRecorded = "dispense.recorded"
        /// `$close`.
        case dispensingCompleted = "dispensing.completed"
        /// `$reject` and `$abort` of a task a pharmacy held.
        case dispensingCancelled = "dispensing.cancelled"
        /// `$close`: the prescription is handed over in full.
        case prescriptionFullyDispensed = "prescription.fully_dispensed"
        /// Any status change of a task a pharmacy holds or held (`$accept`, `$close`, `$reject`, `$abort`).
        case taskStatusChanged = "task.status-changed"

        /// The kinds a `MedicationDispense?…` criteria can select: those that concern dispensations.
        public static let medicationDispenseKinds: Set<Kind> = [.dispenseRecorded, .dispensingCompleted]
    }

    /// A time-ordered UUID, the same for every subscription the event reaches.
    public var id: String
    public var kind: Kind
    public var prescriptionID: PrescriptionID
    /// The task's status after the change.
    public var status: TaskStatus
    /// The pharmacy whose subscriptions hear of it: the one holding the task before the change
    /// (or, at `$accept`, after it).
    public var pharmacy: TelematikID
    public var occurredAt: Date

    public init(id: String, kind: Kind, prescriptionID: PrescriptionID, status: TaskStatus, pharmacy: TelematikID, occurredAt: Date) {
        self.id = id
        self.kind = kind
        self.prescriptionID = prescriptionID
        self.status = status
        self.pharmacy = pharmacy
        self.occurredAt = occurredAt
    }

    /// The events of a change, by the operation its audit entry names. A task no pharmacy holds
    /// (an insurant aborting a ready task) has none: nobody subscribed to it.
    public static func events(of change: TaskChange, before: PrescriptionTask, ids: some IDGenerator) -> [DispensingEvent] {
        guard let pharmacy = before.owner ?? change.task.owner else { return [] }
        let kinds: [Kind]
        switch change.audit.action {
        case .dispense: kinds = [.dispenseRecorded]
        case .close: kinds = [.dispenseRecorded, .dispensingCompleted, .prescriptionFullyDispensed, .taskStatusChanged]
        case .reject, .abort: kinds = [.dispensingCancelled, .taskStatusChanged]
        case .accept: kinds = [.taskStatusChanged]
        default: kinds = []
        }
        // `$close` without a body records no dispensation of its own.
        let recorded = change.audit.action != .close || change.dispensations != .keep
        return kinds.filter { $0 != .dispenseRecorded || recorded }.map {
            DispensingEvent(id: ids.sortableUUID(), kind: $0, prescriptionID: change.task.id, status: change.task.status,
                            pharmacy: pharmacy, occurredAt: change.audit.recorded)
        }
    }
}

/// Which events a webhook subscription receives: the small grammar of its `criteria`.
///
/// ```
/// criteria = ("Task" | "MedicationDispense") ["?" param *("&" param)]
/// param    = "_event=" kind *("," kind)      ; any of these kinds (dispense.recorded, …)
///          | "status=" status *("," status)  ; the task's status after the change (Task only)
/// ```
/// `Task` alone selects every event of the caller's tasks; `MedicationDispense` selects
/// `dispense.recorded` and `dispensing.completed`. Parameters combine with AND, the values of one
/// with OR. Anything else is refused at creation, with the part that is wrong.
public struct WebhookCriteria: Sendable, Hashable {
    public enum Resource: String, Sendable, Hashable { case task = "Task", medicationDispense = "MedicationDispense" }

    public var resource: Resource
    public var kinds: Set<DispensingEvent.Kind>?
    public var statuses: Set<TaskStatus>?

    public struct Invalid: Error, Sendable, Hashable {
        public var reason: String
    }

    public init(parsing text: String) throws(Invalid) {
        let parts = text.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard let resource = Resource(rawValue: String(parts[0])) else {
            throw Invalid(reason: "criteria must start with Task or MedicationDispense")
        }
        self.resource = resource
        guard parts.count == 2, !parts[1].isEmpty else { return }
        for parameter in parts[1].split(separator: "&") {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, !pair[1].isEmpty else { throw Invalid(reason: "criteria parameter '\(parameter)' has no value") }
            let values = pair[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            switch pair[0] {
            case "_event":
                guard self.kinds == nil else { throw Invalid(reason: "criteria names _event twice") }
                var selected: Set<DispensingEvent.Kind> = []
                for value in values {
                    guard let kind = DispensingEvent.Kind(rawValue: value) else { throw Invalid(reason: "unknown event '\(value)'") }
                    if resource == .medicationDispense, !DispensingEvent.Kind.medicationDispenseKinds.contains(kind) {
                        throw Invalid(reason: "event '\(value)' concerns no MedicationDispense")
                    }
                    selected.insert(kind)
                }
                self.kinds = selected
            case "status" where resource == .task:
                guard self.statuses == nil else { throw Invalid(reason: "criteria names status twice") }
                var selected: Set<TaskStatus> = []
                for value in values {
                    guard let status = TaskStatus(rawValue: value) else { throw Invalid(reason: "unknown task status '\(value)'") }
                    selected.insert(status)
                }
                self.statuses = selected
            default:
                throw Invalid(reason: "unsupported criteria parameter '\(pair[0])' (supported: _event, and status for Task)")
            }
        }
    }

    public func matches(_ event: DispensingEvent) -> Bool {
        if resource == .medicationDispense, !DispensingEvent.Kind.medicationDispenseKinds.contains(event.kind) { return false }
        if let kinds, !kinds.contains(event.kind) { return false }
        if let statuses, !statuses.contains(event.status) { return false }
        return true
    }
}

/// A rest-hook subscription as stored: owned by the pharmacy that created it, which alone sees it.
public struct WebhookSubscription: Sendable, Hashable {
    public var id: String
    public var owner: TelematikID
    public var criteria: String
    /// `http(s)` URL the deliveries are POSTed to.
    public var endpoint: String
    /// `application/fhir+json`: the event as a body; `nil`: an empty notification.
    public var payload: String?
    /// Signs the deliveries (HMAC-SHA256). Returned once, at creation; never logged.
    public var secret: String
    public var reason: String?
    public var createdAt: Date

    public init(id: String, owner: TelematikID, criteria: String, endpoint: String, payload: String?, secret: String,
                reason: String?, createdAt: Date) {
        self.id = id
        self.owner = owner
        self.criteria = criteria
        self.endpoint = endpoint
        self.payload = payload
        self.secret = secret
        self.reason = reason
        self.createdAt = createdAt
    }
}

/// One event for one subscription, waiting to be POSTed; the body was made when the event was
/// written, so every attempt sends the same bytes under the same idempotency key.
public struct WebhookDelivery: Sendable, Hashable {
    public var id: Int64
    public var subscriptionID: String
    public var endpoint: String
    public var secret: String
    /// `<event id>.<subscription id>`: the same across retries, restarts and instances.
    public var idempotencyKey: String
    public var eventKind: String
    /// Empty for an empty notification.
    public var body: [UInt8]
    public var attempts: Int
    public var createdAt: Date

    public init(id: Int64, subscriptionID: String, endpoint: String, secret: String, idempotencyKey: String, eventKind: String,
                body: [UInt8], attempts: Int, createdAt: Date) {
        self.id = id
        self.subscriptionID = subscriptionID
        self.endpoint = endpoint
        self.secret = secret
        self.idempotencyKey = idempotencyKey
        self.eventKind = eventKind
        self.body = body
        self.attempts = attempts
        self.createdAt = createdAt
    }
}

/// What became of a delivery, as the webhook relay reports it.
public enum WebhookSettlement: Sendable, Hashable {
    case delivered(Int64)
    /// A failure (no answer, a non-2xx answer): again at `at`; counts an attempt.
    case retry(Int64, at: Date, reason: String)
    /// Failed too often: kept for an operator, not sent; the subscription's later deliveries follow.
    case deadLetter(Int64, reason: String)
}

/// The webhook side of the store: subscriptions (the pharmacy's API) and their deliveries (the
/// relay's). Delivery rows are written by `TaskStore.update` from `TaskChange.events`.
public protocol WebhookStore: Sendable {
    func insertSubscription(_ subscription: WebhookSubscription) async throws
    func subscription(_ id: String, owner: TelematikID) async throws -> WebhookSubscription?
    /// The owner's subscriptions, oldest first.
    func subscriptions(of owner: TelematikID) async throws -> [WebhookSubscription]
    /// Deletes the owner's subscription with its pending deliveries; `false` when it has none of that id.
    func deleteSubscription(_ id: String, owner: TelematikID) async throws -> Bool

    /// Claims up to `subscriptions` subscriptions with a due delivery (none claimed by another holder
    /// until after `now`, none of `excluding`, none whose oldest pending delivery is not yet due),
    /// for `claim.holder` until `now + claim.duration`, in one transaction with the read; returns up
    /// to `perSubscription` pending deliveries of each, in write order. A subscription's deliveries
    /// go out one after another: a backing-off head holds the rest.
    func dueDeliveries(now: Date, subscriptions: Int, perSubscription: Int, excluding: Set<String>, claim: RelayClaim) async throws -> [WebhookDelivery]
    func settleDeliveries(_ settlements: [WebhookSettlement], at: Date) async throws
    func releaseDeliveryClaims(_ subscriptionIDs: Set<String>, holder: String) async throws
    func webhookStatistics() async throws -> OutboxStatistics
}
