import Dispensing
import Foundation
import GRDB

/// The webhook tables (schema v10): `webhook_subscription`, `webhook_delivery` (the webhook
/// outbox: a row is `pending` until the relay settles it `delivered` or `dead`, or the subscription
/// is deleted: `dropped`) and `webhook_claim` (which relay serves a subscription, as `outbox_claim`
/// for insurants).
enum WebhookRows {
    static let subscriptionColumns = "id, owner, criteria, endpoint, payload, secret, reason, created_at"

    static func insert(_ subscription: WebhookSubscription, in db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO webhook_subscription (\(subscriptionColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: arguments([
                subscription.id, subscription.owner.rawValue, subscription.criteria, subscription.endpoint, subscription.payload,
                subscription.secret, subscription.reason, StoredDate.value(subscription.createdAt),
            ]))
    }

    static func subscriptions(of owner: TelematikID, in db: Database) throws -> [WebhookSubscription] {
        let statement = try db.cachedStatement(sql: "SELECT \(subscriptionColumns) FROM webhook_subscription WHERE owner = ? ORDER BY created_at, id")
        return try Row.fetchAll(statement, arguments: [owner.rawValue]).map(subscription(from:))
    }

    static func subscription(_ id: String, owner: TelematikID, in db: Database) throws -> WebhookSubscription? {
        let statement = try db.cachedStatement(sql: "SELECT \(subscriptionColumns) FROM webhook_subscription WHERE id = ? AND owner = ?")
        return try Row.fetchOne(statement, arguments: [id, owner.rawValue]).map(subscription(from:))
    }

    static func delete(_ id: String, owner: TelematikID, at now: Date, in db: Database) throws -> Bool {
        try db.cachedStatement(sql: "DELETE FROM webhook_subscription WHERE id = ? AND owner = ?").execute(arguments: [id, owner.rawValue])
        guard db.changesCount == 1 else { return false }
        try db.cachedStatement(sql: """
            UPDATE webhook_delivery SET state = 'dropped', last_error = 'subscription deleted', settled_at = ?
            WHERE subscription_id = ? AND state = 'pending'
            """).execute(arguments: [StoredDate.value(now), id])
        return true
    }

    private static func subscription(from row: Row) throws -> WebhookSubscription {
        let reader = RowReader(row: row, table: "webhook_subscription")
        return WebhookSubscription(
            id: try reader.value("id"), owner: try reader.parsed("owner", TelematikID.init), criteria: try reader.value("criteria"),
            endpoint: try reader.value("endpoint"), payload: try reader.valueIfPresent("payload"), secret: try reader.value("secret"),
            reason: try reader.valueIfPresent("reason"), createdAt: try reader.date("created_at")
        )
    }

    /// The events' delivery rows, in the transaction of the change that caused them: the pharmacy's
    /// subscriptions are read by the owner index (none for a pharmacy without any, the common case).
    static func enqueue(_ events: [DispensingEvent], at now: Date, in db: Database) throws {
        guard !events.isEmpty else { return }
        var subscriptions: [WebhookSubscription] = []
        for pharmacy in Set(events.map(\.pharmacy)) { subscriptions += try self.subscriptions(of: pharmacy, in: db) }
        guard !subscriptions.isEmpty else { return }
        let statement = try db.cachedStatement(sql: """
            INSERT INTO webhook_delivery (subscription_id, idempotency_key, event, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)
            """)
        for row in WebhookPayload.deliveries(for: events, among: subscriptions) {
            try statement.execute(arguments: [row.subscriptionID, row.idempotencyKey, row.eventKind, Data(row.body),
                                              StoredDate.value(now), StoredDate.value(now)])
        }
    }

    /// See `WebhookStore.dueDeliveries`: a subscription is served when its oldest pending delivery
    /// (the head) is due and no other holder claims it; the caller claims what it gets.
    static func due(now: Date, subscriptions: Int, perSubscription: Int, excluding: Set<String>, holder: String,
                    in db: Database) throws -> [WebhookDelivery] {
        let statement = try db.cachedStatement(sql: """
            WITH heads AS (
                SELECT subscription_id, MIN(id) AS head FROM webhook_delivery WHERE state = 'pending' GROUP BY subscription_id
            ), ready AS (
                SELECT h.subscription_id FROM heads AS h JOIN webhook_delivery AS d ON d.id = h.head
                WHERE d.next_attempt_at <= ?1 AND h.subscription_id NOT IN (SELECT value FROM json_each(?2))
                AND NOT EXISTS (SELECT 1 FROM webhook_claim AS c WHERE c.subscription_id = h.subscription_id AND c.holder <> ?3 AND c.until > ?1)
                ORDER BY h.head LIMIT ?4
            ), queued AS (
                SELECT d.id, ROW_NUMBER() OVER (PARTITION BY d.subscription_id ORDER BY d.id) AS position
                FROM webhook_delivery AS d WHERE d.state = 'pending' AND d.subscription_id IN (SELECT subscription_id FROM ready)
            )
            SELECT d.id, d.subscription_id, s.endpoint, s.secret, d.idempotency_key, d.event, d.body, d.attempts, d.created_at
            FROM queued AS q JOIN webhook_delivery AS d ON d.id = q.id JOIN webhook_subscription AS s ON s.id = d.subscription_id
            WHERE q.position <= ?5 ORDER BY d.id
            """)
        let rows = try Row.fetchAll(statement, arguments: [StoredDate.value(now), jsonArray(excluding), holder, subscriptions, perSubscription])
        return try rows.map { row in
            let reader = RowReader(row: row, table: "webhook_delivery")
            return WebhookDelivery(
                id: try reader.value("id"), subscriptionID: try reader.value("subscription_id"), endpoint: try reader.value("endpoint"),
                secret: try reader.value("secret"), idempotencyKey: try reader.value("idempotency_key"), eventKind: try reader.value("event"),
                body: [UInt8](try reader.value("body", as: Data.self)), attempts: try reader.value("attempts"), createdAt: try reader.date("created_at")
            )
        }
    }

    /// Whether any subscription's oldest pending delivery (its head) is due by `now`: the relay's idle poll asks this on a reader
    /// first, so an empty queue never takes the single writer from the requests.
    static func anyDue(now: Date, in db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: """
            SELECT EXISTS (SELECT 1 FROM webhook_delivery AS d WHERE d.state = 'pending' AND d.next_attempt_at <= ?
                AND NOT EXISTS (SELECT 1 FROM webhook_delivery AS e WHERE e.subscription_id = d.subscription_id AND e.state = 'pending' AND e.id < d.id))
            """), arguments: [StoredDate.value(now)]) ?? false
    }

    /// Claims `ids` for `holder` until `until` unless another holder's claim runs past `now`;
    /// returns the subscriptions the holder now claims.
    static func claim(_ ids: Set<String>, holder: String, now: Date, until: Date, in db: Database) throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let statement = try db.cachedStatement(sql: """
            INSERT INTO webhook_claim (subscription_id, holder, until) SELECT value, ?2, ?3 FROM json_each(?1) WHERE true
            ON CONFLICT (subscription_id) DO UPDATE SET holder = excluded.holder, until = excluded.until
            WHERE webhook_claim.holder = excluded.holder OR webhook_claim.until <= ?4
            RETURNING subscription_id
            """)
        return Set(try String.fetchAll(statement, arguments: [jsonArray(ids), holder, StoredDate.value(until), StoredDate.value(now)]))
    }

    static func release(_ ids: Set<String>, holder: String, in db: Database) throws {
        guard !ids.isEmpty else { return }
        try db.cachedStatement(sql: "DELETE FROM webhook_claim WHERE holder = ?2 AND subscription_id IN (SELECT value FROM json_each(?1))")
            .execute(arguments: [jsonArray(ids), holder])
    }

    static func settle(_ settlement: WebhookSettlement, at now: Date, in db: Database) throws {
        let time = StoredDate.value(now)
        switch settlement {
        case .delivered(let id):
            try db.cachedStatement(sql: "UPDATE webhook_delivery SET state = 'delivered', settled_at = ? WHERE id = ? AND state = 'pending'")
                .execute(arguments: [time, id])
        case let .retry(id, at, reason):
            try db.cachedStatement(sql: """
                UPDATE webhook_delivery SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ? AND state = 'pending'
                """).execute(arguments: [StoredDate.value(at), reason, id])
        case let .deadLetter(id, reason):
            try db.cachedStatement(sql: """
                UPDATE webhook_delivery SET state = 'dead', attempts = attempts + 1, last_error = ?, settled_at = ? WHERE id = ? AND state = 'pending'
                """).execute(arguments: [reason, time, id])
        }
    }

    static func statistics(in db: Database) throws -> OutboxStatistics {
        let pending = try Row.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*), MIN(created_at) FROM webhook_delivery WHERE state = 'pending'"))
        let dead = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM webhook_delivery WHERE state = 'dead'")) ?? 0
        let oldest: Double? = pending?[1]
        return OutboxStatistics(pending: pending?[0] ?? 0, oldestPending: oldest.map(StoredDate.date), dead: dead)
    }

    /// Subscription ids are server-made UUIDs: nothing in them needs JSON escaping.
    private static func jsonArray(_ ids: Set<String>) -> String {
        "[" + ids.map { "\"\($0)\"" }.joined(separator: ",") + "]"
    }
}
