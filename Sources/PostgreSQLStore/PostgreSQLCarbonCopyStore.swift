public import Dispensing
public import Foundation
import Logging
import PostgresNIO

extension PostgreSQLTaskStore: CarbonCopyStore {
    /// The idle poll reads first (no transaction for an empty queue); the claim is one statement.
    public func dueCarbonCopies(now: Date, limit: Int, claim: RelayClaim) async throws -> [CarbonCopyEntry] {
        guard try await read({ connection, logger in
            try await CarbonCopyRows.anyDue(now: now, holder: claim.holder, on: connection, logger: logger)
        }) else { return [] }
        return try await write { connection, logger in
            try await CarbonCopyRows.claimDue(now: now, limit: limit, holder: claim.holder, until: now.addingTimeInterval(claim.duration),
                                              on: connection, logger: logger)
        }
    }

    public func settleCarbonCopies(_ settlements: [CarbonCopySettlement], at now: Date) async throws {
        guard !settlements.isEmpty else { return }
        try await write { connection, logger in
            for settlement in settlements { try await CarbonCopyRows.settle(settlement, at: now, on: connection, logger: logger) }
        }
    }

    public func carbonCopyStatistics() async throws -> OutboxStatistics {
        try await read { connection, logger in try await CarbonCopyRows.statistics(on: connection, logger: logger) }
    }
}
