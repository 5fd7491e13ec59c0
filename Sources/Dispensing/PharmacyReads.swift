/// One page of a search the store answers itself (`LIMIT`/`OFFSET`), with the number of all matches.
public struct SearchPage<Item: Sendable>: Sendable {
    public var items: [Item]
    public var total: Int

    public init(items: [Item], total: Int) {
        self.items = items
        self.total = total
    }
}

/// Which page of a store search: `count` matches from `offset` on (`count` 0: the total only).
public struct PageRequest: Sendable, Hashable {
    public var offset: Int
    public var count: Int
    /// Newest first (descending by the search's sort key), else oldest first.
    public var descending: Bool

    public init(offset: Int, count: Int, descending: Bool) {
        self.offset = offset
        self.count = count
        self.descending = descending
    }
}

/// A pharmacy's worklist (ours, beyond the FD): its own tasks in the given statuses, by the time it
/// accepted them (`acceptedAt`).
public struct WorklistQuery: Sendable, Hashable {
    public var owner: TelematikID
    public var statuses: Set<TaskStatus>
    public var page: PageRequest

    public init(owner: TelematikID, statuses: Set<TaskStatus>, page: PageRequest) {
        self.owner = owner
        self.statuses = statuses
        self.page = page
    }
}

/// Days `from` through `through` (`YYYY-MM-DD`, German days as stored), either end open; empty
/// when `from` is after `through`.
public struct DayRange: Sendable, Hashable {
    public var from: String?
    public var through: String?

    public init(from: String?, through: String?) {
        self.from = from
        self.through = through
    }

    public func contains(_ day: String) -> Bool {
        (from.map { day >= $0 } ?? true) && (through.map { day <= $0 } ?? true)
    }
}

/// A pharmacy's own MedicationDispenses (ours, beyond the FD), by their hand-over day.
public struct DispensationHistoryQuery: Sendable, Hashable {
    public var performer: TelematikID
    /// Each inner list is one search value's alternatives (OR); the lists are ANDed.
    public var handedOver: [[DayRange]]
    public var page: PageRequest

    public init(performer: TelematikID, handedOver: [[DayRange]], page: PageRequest) {
        self.performer = performer
        self.handedOver = handedOver
        self.page = page
    }
}

/// The reads of a pharmacy's own data, pushed into the store (each an indexed query with
/// `LIMIT`/`OFFSET`): a pharmacy may own far more tasks than an insurant, so nothing here reads all
/// of them to page in memory.
public protocol PharmacyReadStore: Sendable {
    /// The tasks `owner` holds in `statuses`, by `acceptedAt` (ties by id).
    func worklist(_ query: WorklistQuery) async throws -> SearchPage<PrescriptionTask>
    /// The MedicationDispenses whose performer is `performer`, by hand-over day (ties by task and
    /// position), each with its Medication.
    func dispensationHistory(_ query: DispensationHistoryQuery) async throws -> SearchPage<Dispensation>
}

/// The failed eGK proofs per Telematik-ID and UTC day (A_27445, A_27446), kept where every
/// instance sees them: behind a load balancer, the same pharmacy meets several instances.
public protocol ProofFailureStore: Sendable {
    /// The failures of `telematikID` counted for `day` (days since 1970, UTC).
    func proofFailures(of telematikID: TelematikID, day: Int64) async throws -> Int
    /// Counts one more failure atomically (concurrent calls, also of other instances, each count)
    /// and returns the new count; rows of earlier days are removed.
    func recordProofFailure(of telematikID: TelematikID, day: Int64) async throws -> Int
}
