public import Dispensing
public import Foundation
import GRDB

extension SQLiteTaskStore: CarbonCopyStore {
    /// The read and the claim are one write statement: no other process's relay can claim a copy in
    /// between. An empty queue is found on a reader, without the single writer.
    public func dueCarbonCopies(now: Date, limit: Int, claim: RelayClaim) async throws -> [CarbonCopyEntry] {
        guard try await pool.read({ db in try CarbonCopyRows.anyDue(now: now, holder: claim.holder, in: db) }) else { return [] }
        return try await writer.submit { db in
            try CarbonCopyRows.claimDue(now: now, limit: limit, holder: claim.holder, until: now.addingTimeInterval(claim.duration), in: db)
        }
    }

    public func settleCarbonCopies(_ settlements: [CarbonCopySettlement], at now: Date) async throws {
        guard !settlements.isEmpty else { return }
        try await writer.submit { db in
            for settlement in settlements { try CarbonCopyRows.settle(settlement, at: now, in: db) }
        }
    }

    public func carbonCopyStatistics() async throws -> OutboxStatistics {
        try await pool.read { db in try CarbonCopyRows.statistics(in: db) }
    }
}
