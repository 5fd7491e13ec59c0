import Dispensing
import FHIRModel
import Foundation
import SQLiteStore
import StoreTestSupport
import Testing

/// The webhook side of both stores (issue 23, item 3): delivery rows written in the change's
/// transaction for the matching subscriptions of the event's pharmacy only, claims on
/// subscriptions, per-subscription order behind a backing-off head, settlements.
struct WebhookStoreTests {
    static let other = TelematikID("3-SMC-B-Testkarte-883110000095958")!

    static func subscription(_ id: String, owner: TelematikID = Fixtures.pharmacyID, criteria: String = "Task") -> WebhookSubscription {
        WebhookSubscription(id: id, owner: owner, criteria: criteria, endpoint: "http://127.0.0.1:9/hook", payload: WebhookPayload.fhirJSON,
                            secret: "secret-\(id)", reason: nil, createdAt: Fixtures.created)
    }

    static func event(_ key: String, _ kind: DispensingEvent.Kind, task: PrescriptionID, pharmacy: TelematikID = Fixtures.pharmacyID) -> DispensingEvent {
        DispensingEvent(id: key, kind: kind, prescriptionID: task, status: .inProgress, pharmacy: pharmacy, occurredAt: Fixtures.created)
    }

    /// A task and one change per event list, each its own transaction; a failing decision writes none.
    static func write(_ store: some TaskStore, _ id: PrescriptionID, events: [[DispensingEvent]]) async throws {
        let task = Fixtures.task(id)
        _ = try await store.insert(task, audit: Fixtures.createAudit(task))
        for batch in events {
            try await store.update(id) { snapshot in
                (TaskChange(task: snapshot.task, audit: Fixtures.audit(.dispense, id, at: Fixtures.created), events: batch), ())
            }
        }
        await #expect(throws: DispensingError.secretMismatch) {
            try await store.update(id) { snapshot -> (TaskChange, Void) in
                _ = TaskChange(task: snapshot.task, audit: Fixtures.audit(.dispense, id, at: Fixtures.created), events: batch(id))
                throw DispensingError.secretMismatch
            }
        }
    }

    static func batch(_ id: PrescriptionID) -> [DispensingEvent] { [event("never", .dispenseRecorded, task: id)] }

    @Test(arguments: StoreKind.allCases)
    func deliveriesAreWrittenWithTheChangeForMatchingSubscriptionsAndClaimedByOneRelay(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let hooks = try #require(store as? any WebhookStore)
            try await hooks.insertSubscription(Self.subscription("s-all"))
            try await hooks.insertSubscription(Self.subscription("s-done", criteria: "Task?_event=dispensing.completed"))
            try await hooks.insertSubscription(Self.subscription("s-other", owner: Self.other))
            let id = Fixtures.prescriptionID(1)
            try await Self.write(store, id, events: [
                [Self.event("e1", .dispenseRecorded, task: id)],
                [Self.event("e2", .dispensingCompleted, task: id), Self.event("e3", .taskStatusChanged, task: id)],
            ])
            #expect(try await hooks.subscriptions(of: Fixtures.pharmacyID).map(\.id).sorted() == ["s-all", "s-done"])
            #expect(try await hooks.webhookStatistics().pending == 4)

            let now = Date()
            let first = RelayClaim(holder: "first", duration: 30), second = RelayClaim(holder: "second", duration: 30)
            let due = try await hooks.dueDeliveries(now: now, subscriptions: 10, perSubscription: 10, excluding: [], claim: first)
            #expect(due.filter { $0.subscriptionID == "s-all" }.map(\.idempotencyKey) == ["e1.s-all", "e2.s-all", "e3.s-all"])
            #expect(due.filter { $0.subscriptionID == "s-done" }.map(\.idempotencyKey) == ["e2.s-done"])
            #expect(due.first?.secret == "secret-s-all")
            let body = String(decoding: due.first?.body ?? [], as: UTF8.self)
            #expect(body.contains("\"valueCode\":\"dispense.recorded\""))
            #expect(try await hooks.dueDeliveries(now: now, subscriptions: 10, perSubscription: 10, excluding: [], claim: second).isEmpty,
                    "claimed by the first relay")

            // The head backs off: nothing of that subscription is due, the later ones wait behind it.
            let head = try #require(due.first)
            try await hooks.settleDeliveries([.retry(head.id, at: now.addingTimeInterval(60), reason: "500")], at: now)
            let done = try #require(due.first { $0.subscriptionID == "s-done" })
            try await hooks.settleDeliveries([.delivered(done.id)], at: now)
            try await hooks.releaseDeliveryClaims(["s-all", "s-done"], holder: first.holder)
            #expect(try await hooks.dueDeliveries(now: now, subscriptions: 10, perSubscription: 10, excluding: [], claim: second).isEmpty)
            let later = try await hooks.dueDeliveries(now: now.addingTimeInterval(61), subscriptions: 10, perSubscription: 2, excluding: [], claim: second)
            #expect(later.map(\.idempotencyKey) == ["e1.s-all", "e2.s-all"])
            #expect(later.first?.attempts == 1)
            // A claim that ran out passes to another holder.
            let taken = try await hooks.dueDeliveries(now: now.addingTimeInterval(92), subscriptions: 10, perSubscription: 10, excluding: [], claim: first)
            #expect(taken.count == 3)
            try await hooks.settleDeliveries(taken.map { .delivered($0.id) }, at: now)
            #expect(try await hooks.webhookStatistics() == OutboxStatistics(pending: 0, oldestPending: nil, dead: 0))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func deletingASubscriptionDropsItsPendingDeliveriesAndOnlyTheOwnerCan(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let hooks = try #require(store as? any WebhookStore)
            try await hooks.insertSubscription(Self.subscription("s1"))
            let id = Fixtures.prescriptionID(2)
            try await Self.write(store, id, events: [[Self.event("e1", .dispenseRecorded, task: id)]])
            #expect(try await hooks.subscription("s1", owner: Self.other) == nil)
            #expect(try await !hooks.deleteSubscription("s1", owner: Self.other))
            #expect(try await hooks.webhookStatistics().pending == 1)
            #expect(try await hooks.deleteSubscription("s1", owner: Fixtures.pharmacyID))
            #expect(try await hooks.webhookStatistics().pending == 0)
            #expect(try await hooks.subscription("s1", owner: Fixtures.pharmacyID) == nil)
        }
    }
}
