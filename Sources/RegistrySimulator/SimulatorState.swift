import Foundation

/// Everything the simulator remembers: the fault settings, the transfers it applied and the
/// resulting registry contents. One actor, so that the idempotency check and the recording are a
/// single step.
public actor SimulatorState {
    private var settings = Faults()
    private var transfers: [ReceivedTransfer] = []
    private var appliedKeys: Set<String> = []
    private var entries: [String: RegistryEntry] = [:]
    private var replayCount = 0
    private var callCount = 0

    public init() {}

    /// How many transfers arrived again with a key already applied (answered 200, not applied):
    /// what a relay resends after a crash or a lost answer.
    public func replays() -> Int {
        replayCount
    }

    /// The transfers applied so far, in arrival order.
    public func received() -> [ReceivedTransfer] {
        transfers
    }

    public func setFaults(_ f: Faults) {
        settings = f
    }

    public func faults() -> Faults {
        settings
    }

    /// What the registry holds for a prescription, or `nil` if no transfer named it.
    public func entry(for prescriptionId: String) -> RegistryEntry? {
        entries[prescriptionId]
    }

    /// Forgets the received transfers, their idempotency keys and the registry contents; keeps the faults.
    public func reset() {
        transfers = []
        appliedKeys = []
        entries = [:]
        replayCount = 0
        callCount = 0
    }

    /// Applies the transfers of one call in order; returns how many were new (not replays).
    func apply(_ transfers: [(Transfer, String)], kvnr: String, at date: Date) -> Int {
        callCount += 1
        return transfers.reduce(0) { count, pair in count + (apply(pair.0, kvnr: kvnr, idempotencyKey: pair.1, at: date) ? 1 : 0) }
    }

    /// How many calls brought transfers (a call may bring several of one insurant's, A_25956).
    public func calls() -> Int {
        callCount
    }

    /// Applies and records a transfer unless its idempotency key was applied already. Returns
    /// whether it was applied now; a replay changes nothing, which keeps a retrying relay exactly-once.
    func apply(_ transfer: Transfer, kvnr: String, idempotencyKey: String, at date: Date) -> Bool {
        guard appliedKeys.insert(idempotencyKey).inserted else {
            replayCount += 1
            return false
        }
        entries[transfer.prescriptionId, default: RegistryEntry()].apply(transfer)
        transfers.append(ReceivedTransfer(
            operation: transfer.operation.rawValue, kvnr: kvnr, prescriptionId: transfer.prescriptionId,
            status: transfer.status, idempotencyKey: idempotencyKey, receivedAt: ReceivedTransfer.timestamp(date)
        ))
        return true
    }
}
