public import Dispensing
public import Foundation
import GRDB

extension SQLiteTaskStore: WebhookStore {
    public func insertSubscription(_ subscription: WebhookSubscription) async throws {
        try await writer.submit { db in try WebhookRows.insert(subscription, in: db) }
    }

    public func subscription(_ id: String, owner: TelematikID) async throws -> WebhookSubscription? {
        try await pool.read { db in try WebhookRows.subscription(id, owner: owner, in: db) }
    }

    public func subscriptions(of owner: TelematikID) async throws -> [WebhookSubscription] {
        try await pool.read { db in try WebhookRows.subscriptions(of: owner, in: db) }
    }

    public func deleteSubscription(_ id: String, owner: TelematikID) async throws -> Bool {
        let now = Date()
        return try await writer.submit { db in try WebhookRows.delete(id, owner: owner, at: now, in: db) }
    }

    /// The read and the claim are one write transaction: no other process's relay can claim a
    /// subscription in between.
    public func dueDeliveries(now: Date, subscriptions: Int, perSubscription: Int, excluding: Set<String>,
                              claim: RelayClaim) async throws -> [WebhookDelivery] {
        guard try await pool.read({ db in try WebhookRows.anyDue(now: now, in: db) }) else { return [] }
        return try await writer.submit { db in
            let due = try WebhookRows.due(now: now, subscriptions: subscriptions, perSubscription: perSubscription, excluding: excluding,
                                          holder: claim.holder, in: db)
            let claimed = try WebhookRows.claim(Set(due.map(\.subscriptionID)), holder: claim.holder, now: now,
                                                until: now.addingTimeInterval(claim.duration), in: db)
            return due.filter { claimed.contains($0.subscriptionID) }
        }
    }

    public func settleDeliveries(_ settlements: [WebhookSettlement], at now: Date) async throws {
        guard !settlements.isEmpty else { return }
        try await writer.submit { db in
            for settlement in settlements { try WebhookRows.settle(settlement, at: now, in: db) }
        }
    }

    public func releaseDeliveryClaims(_ subscriptionIDs: Set<String>, holder: String) async throws {
        guard !subscriptionIDs.isEmpty else { return }
        try await writer.submit { db in try WebhookRows.release(subscriptionIDs, holder: holder, in: db) }
    }

    public func webhookStatistics() async throws -> OutboxStatistics {
        try await pool.read { db in try WebhookRows.statistics(in: db) }
    }
}
