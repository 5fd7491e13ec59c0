public import Foundation

/// A stored registry transfer waiting in the outbox, as the relay reads it.
public struct OutboxEntry: Sendable, Hashable {
    public var id: Int64
    public var operation: RegistryTransfer.Operation
    public var kvnr: KVNR
    public var prescriptionID: PrescriptionID
    public var status: TaskStatus?
    public var idempotencyKey: String
    /// The operation's input Parameters as FHIR JSON, exactly as stored.
    public var payload: [UInt8]
    /// Failed attempts so far.
    public var attempts: Int
    public var createdAt: Date

    public init(id: Int64, operation: RegistryTransfer.Operation, kvnr: KVNR, prescriptionID: PrescriptionID, status: TaskStatus?,
                idempotencyKey: String, payload: [UInt8], attempts: Int, createdAt: Date) {
        self.id = id
        self.operation = operation
        self.kvnr = kvnr
        self.prescriptionID = prescriptionID
        self.status = status
        self.idempotencyKey = idempotencyKey
        self.payload = payload
        self.attempts = attempts
        self.createdAt = createdAt
    }
}

/// What became of transfers, as the relay reports it to the store. Each one also writes a row of
/// the transfer log, so an operator can tell what was sent, held back or given up, and why.
///
/// The store also appends the insurant's audit entry (A_25962) when it settles a pending transfer
/// `sent`, `refused` or `deadLetter` (the last two its failure), in the same transaction, so each
/// outcome is audited exactly once; retries, pauses and drops (an objection, no health record) are
/// not audited.
public enum OutboxSettlement: Sendable, Hashable {
    /// The registry applied it.
    case sent(Int64)
    /// The registry answered and refused it for a reason that neither sending again nor an operator
    /// can change (`MEDSVC_PRESCRIPTION_NO_EXIST`, `MEDSVC_PRESCRIPTION_STATUS`): settled for good.
    case refused(Int64, reason: String)
    /// A passing failure (5xx, timeout, refused connection): tried again at `at`; counts an attempt.
    case retry(Int64, at: Date, reason: String)
    /// Given up: the registry refused it for good (400) or it failed too often. Kept, not sent.
    case deadLetter(Int64, reason: String)
    /// Holds every pending transfer of the insurant until `until` (409, the record is moving).
    case pause(KVNR, until: Date, reason: String)
    /// Drops the insurant's pending transfers up to and including row `through` for good (an
    /// objection), recording `objection` in the same transaction when the registry told us of it.
    /// Rows written after the relay read the insurant's transfers are left for the next read to judge.
    case drop(KVNR, through: Int64, reason: String, objection: Objection?)
}

/// One read's worth of due transfers, in the order they were written; a collection of the readable
/// ones. A row the store cannot read back (a damaged value, an operation this version does not
/// know) is listed apart by its id, so the relay can set it aside as a dead letter instead of every
/// read failing on it and no insurant's transfers going out.
public struct DueTransfers: Sendable, RandomAccessCollection {
    public var entries: [OutboxEntry]
    public var unreadable: [UnreadableTransfer]

    public init(entries: [OutboxEntry], unreadable: [UnreadableTransfer] = []) {
        self.entries = entries
        self.unreadable = unreadable
    }

    public var startIndex: Int { entries.startIndex }
    public var endIndex: Int { entries.endIndex }
    public subscript(position: Int) -> OutboxEntry { entries[position] }
}

/// An outbox row that could not be read: its id and what was wrong with it (the column, never its
/// value, which may be personal data).
public struct UnreadableTransfer: Sendable, Hashable {
    public var id: Int64
    public var reason: String

    public init(id: Int64, reason: String) {
        self.id = id
        self.reason = reason
    }
}

/// The outbox at a glance, for metrics and readiness (the relay counts what it sent itself).
public struct OutboxStatistics: Sendable, Hashable {
    public var pending: Int
    public var oldestPending: Date?
    public var dead: Int

    public init(pending: Int, oldestPending: Date?, dead: Int) {
        self.pending = pending
        self.oldestPending = oldestPending
        self.dead = dead
    }
}

/// One relay's hold on the insurants it serves, when several erx instances drain one outbox
/// (issue 21): an insurant's due transfers are claimed by one holder at a time, until `duration`
/// after the claim. A killed instance's claims simply expire and another instance takes them over;
/// a transfer that instance had sent but not settled goes again with the same idempotency key,
/// which the registry recognises, so it is applied once and in order.
///
/// The instants compared are the instances' own clocks: the lease (30 s by default) must stay far
/// longer than their skew and than one registry call's timeout, or two holders could send at once.
public struct RelayClaim: Sendable, Hashable {
    /// Names the instance, unique per process run.
    public var holder: String
    public var duration: TimeInterval

    public init(holder: String, duration: TimeInterval) {
        self.holder = holder
        self.duration = duration
    }
}

/// The relay's side of the store. Rows are written by `TaskStore.update` with the change they
/// report; the relay only reads them and settles them.
public protocol OutboxStore: Sendable {
    /// The due transfers of the insurants to serve next, for the relay: at most `insurants`
    /// insurants, those whose oldest pending transfer is the oldest, each with up to `perInsurant`
    /// of their pending transfers in write order (one registry call's worth, A_25956). An insurant
    /// with a transfer that is not yet due (backing off, paused) has none due at all: transfers of
    /// one insurant go out in order, never past an earlier one. Nor has an insurant in `excluding`
    /// (the relay is still sending their earlier ones). An insurant whose oldest pending transfer
    /// was written after `readyBefore` is left for later, unless `perInsurant` are already pending:
    /// holding a young queue a moment lets one call carry several. A store may look only at the
    /// oldest eligible rows, a few calls' worth per insurant, so that a large backlog costs no more
    /// to read than a small one. Unreadable rows are reported, not thrown.
    ///
    /// With a `claim`, an insurant another holder claimed until after `now` has none due either, and
    /// the insurants returned are claimed for `claim.holder` until `now + claim.duration`, in the
    /// same transaction as the read, so two relays never receive the same insurant. Without one
    /// (an inspection), nothing is claimed and claims are ignored.
    func dueInsurants(now: Date, insurants: Int, perInsurant: Int, readyBefore: Date, excluding: Set<KVNR>,
                      claim: RelayClaim?) async throws -> DueTransfers
    /// Applies the settlements, in order, in one transaction.
    func settle(_ settlements: [OutboxSettlement], at: Date) async throws
    /// Extends the holder's claims on `kvnrs` to `now + claim.duration` (a claim another holder took
    /// over meanwhile stays theirs); returns the insurants still claimed by the holder.
    func renewClaims(_ kvnrs: Set<KVNR>, claim: RelayClaim, now: Date) async throws -> Set<KVNR>
    /// Gives up the holder's claims on `kvnrs` (served and settled, or not started), so another
    /// relay may take them at once.
    func releaseClaims(_ kvnrs: Set<KVNR>, holder: String) async throws
    func outboxStatistics() async throws -> OutboxStatistics
}

extension OutboxStore {
    /// What is due now, without the relay's hold (for inspection): the `limit` insurants served
    /// next, up to `limit` transfers each, in write order.
    public func dueTransfers(now: Date, limit: Int) async throws -> DueTransfers {
        try await dueInsurants(now: now, insurants: limit, perInsurant: limit, readyBefore: now, excluding: [], claim: nil)
    }
}

/// A transfer the relay gave up on, as an operator sees it: no payload and no KVNR (personal data
/// the listing does not need), the prescription it is about, and why it was given up.
public struct DeadLetter: Sendable, Hashable {
    public var id: Int64
    /// `nil` for a row the relay set aside because it could not read it (see ``UnreadableTransfer``).
    public var operation: RegistryTransfer.Operation?
    public var prescriptionID: PrescriptionID?
    public var attempts: Int
    public var lastError: String?
    public var settledAt: Date?
    /// A later transfer of the same record (prescription or dispensation; for a dispensation also
    /// the prescription's cancellation) that the registry applied or that waits to be sent: sending
    /// this one now would overwrite newer data with older (the registry keeps one state per record),
    /// reach it after the newer one already in flight, or bring back what was cancelled.
    public var supersededBy: Int64?

    public init(id: Int64, operation: RegistryTransfer.Operation?, prescriptionID: PrescriptionID?, attempts: Int,
                lastError: String?, settledAt: Date?, supersededBy: Int64?) {
        self.id = id
        self.operation = operation
        self.prescriptionID = prescriptionID
        self.attempts = attempts
        self.lastError = lastError
        self.settledAt = settledAt
        self.supersededBy = supersededBy
    }
}

/// What asking to send a dead letter again did.
public enum RequeueOutcome: Sendable, Hashable {
    /// Pending again with a fresh count of attempts and its own idempotency key: should the registry
    /// have applied it after all (an answer lost to a timeout), it recognises the key.
    case requeued
    /// No dead letter has this id (never existed, or not dead: pending, sent, dropped).
    case notDead
    /// Refused: a later transfer of the same record supersedes it (see ``DeadLetter/supersededBy``).
    case superseded(by: Int64)
    /// Refused: the insurant has objected since; their data must not be sent.
    case objected
    /// Refused: the row cannot be read back (the relay set it aside for that), so it cannot be sent.
    case unreadable
}

/// The operator's side of the outbox: the dead letters, and sending one again once the cause
/// (a registry down for longer than the relay's attempts, a fixed registry bug) is gone.
public protocol DeadLetterStore: Sendable {
    /// Every dead letter, oldest first.
    func deadLetters() async throws -> [DeadLetter]
    /// Returns the dead letter `id` to the queue, unless that would send stale or objected data;
    /// decided and done in one transaction. The relay picks it up at its next look.
    func requeue(_ id: Int64, at now: Date) async throws -> RequeueOutcome
}
