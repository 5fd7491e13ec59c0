import Dispensing
import Foundation
import Logging
import PostgresNIO

/// The webhook tables (migration 10), with the SQLite store's semantics
/// (`SQLiteStore/WebhookRows.swift`), statement for statement.
enum WebhookRows {
    static func insert(_ subscription: WebhookSubscription, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.rows("""
            INSERT INTO webhook_subscription (id, owner, criteria, endpoint, payload, secret, reason, created_at)
            VALUES (\(subscription.id), \(subscription.owner.rawValue), \(subscription.criteria), \(subscription.endpoint),
                    \(subscription.payload)::text, \(subscription.secret), \(subscription.reason)::text, \(StoredDate.value(subscription.createdAt)))
            """, logger: logger)
    }

    /// The owner's subscriptions; `locked`: share-locked until the transaction ends, so a `DELETE
    /// /Subscription` running meanwhile waits for it, and then drops what it enqueued.
    static func subscriptions(of owner: TelematikID, locked: Bool = false, on connection: PostgresConnection, logger: Logger) async throws -> [WebhookSubscription] {
        let rows = try await connection.rows("""
            SELECT id, owner, criteria, endpoint, payload, secret, reason, created_at FROM webhook_subscription
            WHERE owner = \(owner.rawValue) ORDER BY created_at, id \(unescaped: locked ? "FOR SHARE" : "")
            """, logger: logger)
        return try rows.map(subscription(from:))
    }

    static func subscription(_ id: String, owner: TelematikID, on connection: PostgresConnection, logger: Logger) async throws -> WebhookSubscription? {
        let rows = try await connection.rows("""
            SELECT id, owner, criteria, endpoint, payload, secret, reason, created_at FROM webhook_subscription
            WHERE id = \(id) AND owner = \(owner.rawValue)
            """, logger: logger)
        return try rows.first.map(subscription(from:))
    }

    static func delete(_ id: String, owner: TelematikID, at now: Date, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let deleted = try await connection.rows("DELETE FROM webhook_subscription WHERE id = \(id) AND owner = \(owner.rawValue) RETURNING id",
                                                logger: logger)
        guard !deleted.isEmpty else { return false }
        _ = try await connection.rows("""
            UPDATE webhook_delivery SET state = 'dropped', last_error = 'subscription deleted', settled_at = \(StoredDate.value(now))
            WHERE subscription_id = \(id) AND state = 'pending'
            """, logger: logger)
        return true
    }

    private static func subscription(from row: PostgresRow) throws -> WebhookSubscription {
        let reader = RowReader(row, table: "webhook_subscription")
        return WebhookSubscription(
            id: try reader.value("id"), owner: try reader.parsed("owner", TelematikID.init), criteria: try reader.value("criteria"),
            endpoint: try reader.value("endpoint"), payload: try reader.valueIfPresent("payload"), secret: try reader.value("secret"),
            reason: try reader.valueIfPresent("reason"), createdAt: try reader.date("created_at")
        )
    }

    /// The events' delivery rows, in the transaction of the change that caused them.
    static func enqueue(_ events: [DispensingEvent], at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        guard !events.isEmpty else { return }
        var subscriptions: [WebhookSubscription] = []
        for pharmacy in Set(events.map(\.pharmacy)) {
            // Locked: without it (READ COMMITTED) a subscription deleted meanwhile would get pending
            // rows nobody drops, which the relay's "oldest head first" read would keep choosing.
            subscriptions += try await self.subscriptions(of: pharmacy, locked: true, on: connection, logger: logger)
        }
        guard !subscriptions.isEmpty else { return }
        let time = StoredDate.value(now)
        for row in WebhookPayload.deliveries(for: events, among: subscriptions) {
            _ = try await connection.rows("""
                INSERT INTO webhook_delivery (subscription_id, idempotency_key, event, body, created_at, next_attempt_at)
                VALUES (\(row.subscriptionID), \(row.idempotencyKey), \(row.eventKind), \(ByteBuffer(bytes: row.body)), \(time), \(time))
                """, logger: logger)
        }
    }

    static func due(now: Date, subscriptions: Int, perSubscription: Int, excluding: Set<String>, holder: String,
                    on connection: PostgresConnection, logger: Logger) async throws -> [WebhookDelivery] {
        let excluded = excluding.sorted()
        let time = StoredDate.value(now)
        let rows = try await connection.rows("""
            WITH heads AS (
                SELECT subscription_id, MIN(id) AS head FROM webhook_delivery WHERE state = 'pending' GROUP BY subscription_id
            ), ready AS (
                SELECT h.subscription_id FROM heads AS h JOIN webhook_delivery AS d ON d.id = h.head
                WHERE d.next_attempt_at <= \(time) AND NOT (h.subscription_id = ANY(\(excluded)::text[]))
                AND NOT EXISTS (SELECT 1 FROM webhook_claim AS c WHERE c.subscription_id = h.subscription_id AND c.holder <> \(holder) AND c.until > \(time))
                ORDER BY h.head LIMIT \(subscriptions)
            ), queued AS (
                SELECT d.id, ROW_NUMBER() OVER (PARTITION BY d.subscription_id ORDER BY d.id) AS position
                FROM webhook_delivery AS d WHERE d.state = 'pending' AND d.subscription_id IN (SELECT subscription_id FROM ready)
            )
            SELECT d.id, d.subscription_id, s.endpoint, s.secret, d.idempotency_key, d.event, d.body, d.attempts, d.created_at
            FROM queued AS q JOIN webhook_delivery AS d ON d.id = q.id JOIN webhook_subscription AS s ON s.id = d.subscription_id
            WHERE q.position <= \(perSubscription) ORDER BY d.id
            """, logger: logger)
        return try rows.map { row in
            let reader = RowReader(row, table: "webhook_delivery")
            return WebhookDelivery(
                id: try reader.value("id"), subscriptionID: try reader.value("subscription_id"), endpoint: try reader.value("endpoint"),
                secret: try reader.value("secret"), idempotencyKey: try reader.value("idempotency_key"), eventKind: try reader.value("event"),
                body: try reader.bytesIfPresent("body") ?? [], attempts: Int(try reader.value("attempts", as: Int32.self)),
                createdAt: try reader.date("created_at")
            )
        }
    }

    /// Whether any subscription's oldest pending delivery (its head) is due by `now` (the relay's idle poll, outside a transaction).
    static func anyDue(now: Date, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.rows("""
            SELECT EXISTS (SELECT 1 FROM webhook_delivery AS d WHERE d.state = 'pending' AND d.next_attempt_at <= \(StoredDate.value(now))
                AND NOT EXISTS (SELECT 1 FROM webhook_delivery AS e WHERE e.subscription_id = d.subscription_id AND e.state = 'pending' AND e.id < d.id)) AS due
            """, logger: logger)
        return try rows.first.map { try RowReader($0, table: "webhook_delivery").value("due", as: Bool.self) } ?? false
    }

    /// As `OutboxRows.claim`: sorted, so two relays lock overlapping claims in the same order.
    static func claim(_ ids: Set<String>, holder: String, now: Date, until: Date, on connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let rows = try await connection.rows("""
            INSERT INTO webhook_claim (subscription_id, holder, until)
            SELECT s, \(holder), \(StoredDate.value(until)) FROM unnest(\(ids.sorted())::text[]) AS s ORDER BY s
            ON CONFLICT (subscription_id) DO UPDATE SET holder = excluded.holder, until = excluded.until
            WHERE webhook_claim.holder = excluded.holder OR webhook_claim.until <= \(StoredDate.value(now))
            RETURNING subscription_id
            """, logger: logger)
        return Set(try rows.map { try RowReader($0, table: "webhook_claim").value("subscription_id", as: String.self) })
    }

    /// Of `ids`, those still pending (another relay may have settled some between the read and the claim).
    static func pending(_ ids: [Int64], on connection: PostgresConnection, logger: Logger) async throws -> Set<Int64> {
        let rows = try await connection.rows("SELECT id FROM webhook_delivery WHERE id = ANY(\(ids)) AND state = 'pending'", logger: logger)
        return Set(try rows.map { try $0.decode(Int64.self) })
    }

    static func release(_ ids: Set<String>, holder: String, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.rows("DELETE FROM webhook_claim WHERE holder = \(holder) AND subscription_id = ANY(\(ids.sorted()))", logger: logger)
    }

    static func settle(_ settlement: WebhookSettlement, at now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        let time = StoredDate.value(now)
        switch settlement {
        case .delivered(let id):
            _ = try await connection.rows("UPDATE webhook_delivery SET state = 'delivered', settled_at = \(time) WHERE id = \(id) AND state = 'pending'",
                                          logger: logger)
        case let .retry(id, at, reason):
            _ = try await connection.rows("""
                UPDATE webhook_delivery SET attempts = attempts + 1, next_attempt_at = \(StoredDate.value(at)), last_error = \(reason)
                WHERE id = \(id) AND state = 'pending'
                """, logger: logger)
        case let .deadLetter(id, reason):
            _ = try await connection.rows("""
                UPDATE webhook_delivery SET state = 'dead', attempts = attempts + 1, last_error = \(reason), settled_at = \(time)
                WHERE id = \(id) AND state = 'pending'
                """, logger: logger)
        }
    }

    static func statistics(on connection: PostgresConnection, logger: Logger) async throws -> OutboxStatistics {
        let rows = try await connection.rows("""
            SELECT (SELECT COUNT(*) FROM webhook_delivery WHERE state = 'pending') AS pending,
                   (SELECT MIN(created_at) FROM webhook_delivery WHERE state = 'pending') AS oldest,
                   (SELECT COUNT(*) FROM webhook_delivery WHERE state = 'dead') AS dead
            """, logger: logger)
        guard let row = rows.first else { throw PostgreSQLStoreError.corruptRow(table: "webhook_delivery", column: "count") }
        let reader = RowReader(row, table: "webhook_delivery")
        return OutboxStatistics(pending: Int(try reader.value("pending", as: Int64.self)), oldestPending: try reader.dateIfPresent("oldest"),
                                dead: Int(try reader.value("dead", as: Int64.self)))
    }
}
