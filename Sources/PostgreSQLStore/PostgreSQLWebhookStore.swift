public import Dispensing
public import Foundation
import Logging
import PostgresNIO

extension PostgreSQLTaskStore: WebhookStore {
    public func insertSubscription(_ subscription: WebhookSubscription) async throws {
        try await write { connection, logger in try await WebhookRows.insert(subscription, on: connection, logger: logger) }
    }

    public func subscription(_ id: String, owner: TelematikID) async throws -> WebhookSubscription? {
        try await read { connection, logger in try await WebhookRows.subscription(id, owner: owner, on: connection, logger: logger) }
    }

    public func subscriptions(of owner: TelematikID) async throws -> [WebhookSubscription] {
        try await read { connection, logger in try await WebhookRows.subscriptions(of: owner, on: connection, logger: logger) }
    }

    public func deleteSubscription(_ id: String, owner: TelematikID) async throws -> Bool {
        let now = Date()
        return try await write { connection, logger in try await WebhookRows.delete(id, owner: owner, at: now, on: connection, logger: logger) }
    }

    /// The read and the claim in one transaction; as for the registry outbox, only rows still
    /// pending once the claim is ours go out (READ COMMITTED: another relay may have settled some
    /// between the read and the claim, then released the subscription).
    public func dueDeliveries(now: Date, subscriptions: Int, perSubscription: Int, excluding: Set<String>,
                              claim: RelayClaim) async throws -> [WebhookDelivery] {
        // The idle poll reads first: an empty queue costs no transaction.
        guard try await read({ connection, logger in try await WebhookRows.anyDue(now: now, on: connection, logger: logger) }) else { return [] }
        return try await write { connection, logger in
            var due = try await WebhookRows.due(now: now, subscriptions: subscriptions, perSubscription: perSubscription, excluding: excluding,
                                                holder: claim.holder, on: connection, logger: logger)
            let claimed = try await WebhookRows.claim(Set(due.map(\.subscriptionID)), holder: claim.holder, now: now,
                                                      until: now.addingTimeInterval(claim.duration), on: connection, logger: logger)
            due.removeAll { !claimed.contains($0.subscriptionID) }
            guard !due.isEmpty else { return due }
            let pending = try await WebhookRows.pending(due.map(\.id), on: connection, logger: logger)
            // A subscription whose head was settled meanwhile is read again next time, in order.
            let gone = Set(due.filter { !pending.contains($0.id) }.map(\.subscriptionID))
            due.removeAll { gone.contains($0.subscriptionID) }
            return due
        }
    }

    public func settleDeliveries(_ settlements: [WebhookSettlement], at now: Date) async throws {
        guard !settlements.isEmpty else { return }
        try await write { connection, logger in
            for settlement in settlements { try await WebhookRows.settle(settlement, at: now, on: connection, logger: logger) }
        }
    }

    public func releaseDeliveryClaims(_ subscriptionIDs: Set<String>, holder: String) async throws {
        guard !subscriptionIDs.isEmpty else { return }
        try await write { connection, logger in try await WebhookRows.release(subscriptionIDs, holder: holder, on: connection, logger: logger) }
    }

    public func webhookStatistics() async throws -> OutboxStatistics {
        try await read { connection, logger in try await WebhookRows.statistics(on: connection, logger: logger) }
    }
}
