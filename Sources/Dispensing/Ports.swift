public import FHIRModel
public import Foundation

/// The wall clock the rules read "now" from; tests pass a fixed one.
public protocol WallClock: Sendable {
    func now() -> Date
}

public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// Where new identifiers and credentials come from.
public protocol IDGenerator: Sendable {
    /// A twelve-digit serial for a new PrescriptionID (a collision is retried by the caller).
    func prescriptionSerial() -> UInt64
    /// A fresh 256-bit AccessCode or Secret.
    func credential() -> TaskCredential
    /// A fresh lowercase UUID (Medication ids, `urn:uuid:` references).
    func uuid() -> String
    /// A fresh lowercase UUID that sorts by creation time (outbox idempotency keys). Such keys go
    /// into a unique index: time-ordered ones land on its last page, random ones each on a page of
    /// their own, which the commit then has to write.
    func sortableUUID() -> String
}

/// Draws from `SystemRandomNumberGenerator`, which on Linux reads the kernel's CSPRNG
/// (`getrandom`), so credentials are unpredictable.
public struct RandomIDGenerator: IDGenerator {
    public init() {}

    public func prescriptionSerial() -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        return UInt64.random(in: 0..<1_000_000_000_000, using: &generator)
    }

    public func credential() -> TaskCredential {
        var generator = SystemRandomNumberGenerator()
        return TaskCredential(randomBytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    public func uuid() -> String { Self.randomUUID() }

    public func sortableUUID() -> String { Self.timeOrderedUUID(now: Date()) }

    /// A version 4 UUID, lowercase, from `getrandom`. Foundation's `UUID()` on Linux opens and
    /// reads `/dev/urandom` for every one, a file open per request on the hot path.
    public static func randomUUID() -> String {
        var generator = SystemRandomNumberGenerator()
        let (high, low) = (generator.next() as UInt64, generator.next() as UInt64)
        var uuid = withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { Array($0) }
        uuid[6] = (uuid[6] & 0x0F) | 0x40  // version 4
        uuid[8] = (uuid[8] & 0x3F) | 0x80  // RFC 4122 variant
        return text(of: uuid)
    }

    /// A version 7 UUID (RFC 9562), lowercase: 48 bits of Unix milliseconds, then 74 random bits.
    /// Two made in the same millisecond are in random order; across milliseconds they sort by time.
    public static func timeOrderedUUID(now: Date) -> String {
        var generator = SystemRandomNumberGenerator()
        let milliseconds = UInt64(max(0, now.timeIntervalSince1970 * 1000)) & 0xFFFF_FFFF_FFFF
        let high = milliseconds << 16 | ((generator.next() as UInt64) & 0xFFFF)
        var uuid = withUnsafeBytes(of: (high.bigEndian, (generator.next() as UInt64).bigEndian)) { Array($0) }
        uuid[6] = (uuid[6] & 0x0F) | 0x70  // version 7
        uuid[8] = (uuid[8] & 0x3F) | 0x80  // RFC 4122 variant
        return text(of: uuid)
    }

    /// The 8-4-4-4-12 lowercase hex form of 16 bytes.
    private static func text(of uuid: [UInt8]) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, byte) in uuid.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// What an operation did, for the audit trail (who, what, when; never a body). The insurant reads
/// the entries about them as AuditEvents (A_19284-14); the server renders them.
public struct AuditEntry: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable, CaseIterable {
        case create, activate, accept, dispense, close, reject, abort, read
        /// `GET /MedicationDispense` (event 12): names no single task unless the search did.
        case readDispensations = "read-dispensations"
        /// A pharmacy's `GET /Task` with the insurant's eGK (fd-parity §1.6): 26 with a check
        /// digit, 28 the check digit failed, 30 an accepted offline proof (PN3), 31 a refused one.
        case egkList = "egk-list"
        case egkListFailed = "egk-list-failed"
        case egkListOffline = "egk-list-offline"
        case egkListOfflineRefused = "egk-list-offline-refused"
        /// Event 50: the list by a PoPP token, by the token's proof method (the text names it).
        case poppListHealthID = "popp-list-healthid"
        case poppListPractitionerCard = "popp-list-ehc-practitioner"
        case poppListProviderCard = "popp-list-ehc-provider"
        case poppListOther = "popp-list"

        /// Event 50's action for a PoPP token's `proofMethod` (IBM classifies it by its prefix).
        public static func popp(proofMethod: String?) -> Action {
            let method = proofMethod ?? ""
            if method.hasPrefix("healthid") { return .poppListHealthID }
            if method.hasPrefix("ehc-practitioner") { return .poppListPractitionerCard }
            if method.hasPrefix("ehc-provider") { return .poppListProviderCard }
            return .poppListOther
        }
        /// A registry transfer that succeeded or finally failed (A_25962, events 33–40).
        case registryProvidePrescription = "registry-provide-prescription"
        case registryCancelPrescription = "registry-cancel-prescription"
        case registryProvideDispensation = "registry-provide-dispensation"
        case registryCancelDispensation = "registry-cancel-dispensation"

        /// The registry transfer's action for an operation of the outbox.
        public static func registry(_ operation: RegistryTransfer.Operation) -> Action {
            switch operation {
            case .providePrescription: .registryProvidePrescription
            case .cancelPrescription: .registryCancelPrescription
            case .provideDispensation: .registryProvideDispensation
            case .cancelDispensation: .registryCancelDispensation
            }
        }
    }

    public var action: Action
    /// The task it was about; `nil` for a search over several (`GET /MedicationDispense`).
    public var prescriptionID: PrescriptionID?
    /// `nil` when the service itself acted (a registry transfer).
    public var agentProfession: Profession?
    /// The caller's Telematik-ID, or the insurant's KVNR for insurants.
    public var agentID: String?
    /// The caller's name from the token (`organizationName`, or the insurant's name).
    public var agentName: String?
    /// An insurant acting for another one with the task's AccessCode (events 2 and 10).
    public var representative: Bool
    /// A registry transfer that finally failed (the even events 34, 36, 38, 40).
    public var failed: Bool
    /// Whose data it was (the insurant reads their own audit trail by it).
    public var kvnr: KVNR?
    public var recorded: Date

    public init(action: Action, prescriptionID: PrescriptionID?, caller: Caller, kvnr: KVNR?, recorded: Date,
                representative: Bool = false, failed: Bool = false) {
        self.init(action: action, prescriptionID: prescriptionID, agent: caller, kvnr: kvnr, recorded: recorded,
                  representative: representative, failed: failed)
    }

    /// `agent` `nil`: the service itself acted.
    private init(action: Action, prescriptionID: PrescriptionID?, agent: Caller?, kvnr: KVNR?, recorded: Date,
                 representative: Bool, failed: Bool) {
        self.action = action
        self.prescriptionID = prescriptionID
        self.agentProfession = agent?.profession
        self.agentID = agent.flatMap { $0.telematikID?.rawValue ?? $0.kvnr?.rawValue }
        self.agentName = agent?.name
        self.representative = representative
        self.failed = failed
        self.kvnr = kvnr
        self.recorded = recorded
    }

    /// A registry transfer's outcome (A_25962): success, or the final failure; the service itself
    /// is the agent.
    public static func registry(_ operation: RegistryTransfer.Operation, prescriptionID: PrescriptionID, kvnr: KVNR?, failed: Bool,
                                recorded: Date) -> AuditEntry {
        AuditEntry(action: .registry(operation), prescriptionID: prescriptionID, agent: nil, kvnr: kvnr, recorded: recorded,
                   representative: false, failed: failed)
    }
}

/// An audit entry as stored, with the id the insurant reads it by (`AuditEvent/{id}`): a
/// time-ordered UUID, so ids sort by recording time as the production service's do.
public struct StoredAuditEntry: Sendable, Hashable {
    public var id: String
    public var entry: AuditEntry

    public init(id: String, entry: AuditEntry) {
        self.id = id
        self.entry = entry
    }
}

/// What an operation does to the stored dispensation set of a task.
public enum DispensationChange: Sendable, Hashable {
    case keep
    /// Replace the whole set (server ids already assigned).
    case replace([Dispensation])
    case delete
}

/// Everything one operation writes, applied by the store in one transaction.
public struct TaskChange: Sendable, Hashable {
    public var task: PrescriptionTask
    public var dispensations: DispensationChange
    public var audit: AuditEntry
    /// What the registry must learn of this change: an outbox row in the same transaction.
    public var transfer: RegistryTransfer?
    /// `$abort` deletes every Communication of the task in the same transaction (A_19027-06);
    /// `$close` keeps them (E2E GetMessagesIT GET_09, fd-messaging-transport §1.8).
    public var deleteCommunications: Bool
    /// What the pharmacy's webhook subscriptions may hear of: the store writes one delivery row per
    /// matching subscription of `DispensingEvent.pharmacy` in the same transaction.
    public var events: [DispensingEvent]
    /// The BfArM copy of a closed T-Rezept: a row of the carbon-copy outbox in the same transaction.
    public var carbonCopy: CarbonCopy?

    public init(task: PrescriptionTask, dispensations: DispensationChange = .keep, audit: AuditEntry, transfer: RegistryTransfer? = nil,
                deleteCommunications: Bool = false, events: [DispensingEvent] = [], carbonCopy: CarbonCopy? = nil) {
        self.carbonCopy = carbonCopy
        self.deleteCommunications = deleteCommunications
        self.task = task
        self.dispensations = dispensations
        self.audit = audit
        self.transfer = transfer
        self.events = events
    }
}

/// The locked task as the store hands it to a rule, with what else the rule may need from the
/// same transaction. Both are read only when asked, so a rule that needs neither costs no query.
public struct TaskSnapshot {
    public let task: PrescriptionTask
    /// The objections of an insurant (the task's, or at `$activate` the one the prescription names).
    public let objections: (KVNR) throws -> [Objection]
    /// The dispensation set stored for the task.
    public let dispensations: () throws -> [Dispensation]

    public init(task: PrescriptionTask, objections: @escaping (KVNR) throws -> [Objection], dispensations: @escaping () throws -> [Dispensation]) {
        self.task = task
        self.objections = objections
        self.dispensations = dispensations
    }
}

/// A store that cannot be reached (the database server is down, restarting, or did not answer
/// within the store's bound): nothing was committed (unless the connection was lost during the
/// commit itself, which no client can tell), and the same request may succeed later. The
/// server answers 503 with `Retry-After`; any other store error is a 500. Carries no detail that
/// could hold personal data.
public struct StoreUnavailable: Error, Sendable, Hashable {
    /// What failed, for the log: "connect", "timeout", "connection lost", ….
    public var reason: String

    public init(reason: String) {
        self.reason = reason
    }
}

/// The dispensation set stored for one task of an insurant.
public struct DispensationSet: Sendable, Hashable {
    public var prescriptionID: PrescriptionID
    /// In the order the pharmacy sent them.
    public var dispensations: [Dispensation]

    public init(prescriptionID: PrescriptionID, dispensations: [Dispensation]) {
        self.prescriptionID = prescriptionID
        self.dispensations = dispensations
    }
}

/// The durable state of the workflow. Every write goes through `insert` or `update`, each one
/// transaction; implementations must serialise `update`s of one task (a row lock), so a rule always
/// decides on the state it replaces.
///
/// The port speaks in domain values only: no SQL, no connection or row types, so SQLite and
/// PostgreSQL implement it alike.
public protocol TaskStore: Sendable {
    /// Stores a new task; `false` when its ID is already taken.
    func insert(_ task: PrescriptionTask, audit: AuditEntry) async throws -> Bool

    /// Locks the task, hands it to `decide` (a pure rule: no I/O but the snapshot's reads, may be
    /// called again on retry), and writes the change it returns (task, dispensations, audit, outbox
    /// row), all in one transaction. Throws `DispensingError.taskNotFound` for an unknown ID and
    /// whatever `decide` throws, having written nothing.
    func update<Outcome: Sendable>(
        _ id: PrescriptionID,
        _ decide: @escaping @Sendable (TaskSnapshot) throws -> (TaskChange, Outcome)
    ) async throws -> Outcome

    func task(_ id: PrescriptionID) async throws -> PrescriptionTask?
    /// An insurant's tasks, newest first.
    func tasks(of kvnr: KVNR) async throws -> [PrescriptionTask]
    /// The stored dispensation set of a task, in the order it was sent.
    func dispensations(of id: PrescriptionID) async throws -> [Dispensation]
    /// Every stored dispensation set of the insurant, by task (the search filters and sorts them:
    /// it selects whole sets, as the production service does).
    func dispensationSets(of kvnr: KVNR) async throws -> [DispensationSet]
    /// The audit trail of one task, oldest first.
    func auditTrail(of id: PrescriptionID) async throws -> [AuditEntry]
    /// Appends entries that change no task (reads, registry outcomes), in one transaction.
    func record(_ audit: [AuditEntry]) async throws
    /// Every entry about the insurant (`AuditEntry.kvnr`), oldest first, with their ids.
    func auditEntries(of kvnr: KVNR) async throws -> [StoredAuditEntry]
    /// One entry by its id, if it is about the insurant.
    func auditEntry(_ id: String, of kvnr: KVNR) async throws -> StoredAuditEntry?

    /// The insurant's stored objections, oldest first.
    func objections(of kvnr: KVNR) async throws -> [Objection]
    /// The stored objections of several insurants in one read (the relay's round), oldest first per
    /// insurant; an insurant without any has no key.
    func objections(of kvnrs: Set<KVNR>) async throws -> [KVNR: [Objection]]
    /// Stores an objection (replacing one of the same KVNR, source and category).
    func record(_ objection: Objection) async throws
    /// Removes the insurant's objections from `sources` (of `category` only, when given; only those
    /// recorded before `recordedBefore`, when given); returns how many there were.
    @discardableResult
    func liftObjections(of kvnr: KVNR, sources: Set<ObjectionSource>, category: ObjectionCategory?, recordedBefore: Date?) async throws -> Int
}
