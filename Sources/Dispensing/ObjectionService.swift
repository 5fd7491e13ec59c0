public import Foundation

/// The insurant's own objections (`POST`/`DELETE /Consent`), and what the server holds about them.
public struct ObjectionService: Sendable {
    public let store: any TaskStore
    public let clock: any WallClock

    public init(store: any TaskStore, clock: any WallClock = SystemWallClock()) {
        self.store = store
        self.clock = clock
    }

    /// Records the insurant's objection; objecting twice keeps one (the later).
    public func object(_ category: ObjectionCategory, caller: Caller) async throws -> Objection {
        let kvnr = try Self.insurant(caller)
        let objection = Objection(kvnr: kvnr, category: category, source: .consentResource, since: clock.now())
        try await store.record(objection)
        return objection
    }

    /// Withdraws the insurant's own objection of `category`; `false` when there was none. Objections
    /// the registry told us of stay: only the registry lifts those.
    public func withdraw(_ category: ObjectionCategory, caller: Caller) async throws -> Bool {
        try await store.liftObjections(of: Self.insurant(caller), sources: [.consentResource], category: category, recordedBefore: nil) > 0
    }

    /// Every objection the server holds for the calling insurant, whatever its source.
    public func objections(caller: Caller) async throws -> [Objection] {
        try await store.objections(of: Self.insurant(caller))
    }

    private static func insurant(_ caller: Caller) throws(DispensingError) -> KVNR {
        guard caller.profession == .insurant, let kvnr = caller.kvnr else { throw .notTheInsurantsTask }
        return kvnr
    }
}
