import Dispensing
import FHIRModel
import Foundation
import SQLiteStore
import StoreTestSupport
import Testing

/// The operator's side of the outbox: listing dead letters and sending one again, never when that
/// would overwrite newer data at the registry or send an objecting insurant's data.
struct DeadLetterTests {
    /// One task with a transfer per operation, in order; returns their outbox ids.
    static func write(_ store: some TaskStore & OutboxStore, _ number: Int, _ operations: [RegistryTransfer.Operation]) async throws -> [Int64] {
        let id = Fixtures.prescriptionID(number)
        let task = Fixtures.task(id)
        _ = try await store.insert(task, audit: Fixtures.createAudit(task))
        for (index, operation) in operations.enumerated() {
            let transfer = RegistryTransfer(operation: operation, kvnr: Fixtures.kvnr, prescriptionID: id, status: nil,
                                            idempotencyKey: "\(number)-\(index)", payload: Element(name: "Parameters"))
            try await store.update(id) { snapshot in
                (TaskChange(task: snapshot.task, audit: Fixtures.audit(.dispense, id, at: Fixtures.created), transfer: transfer), ())
            }
        }
        return try await store.dueTransfers(now: Date(), limit: 100).filter { $0.prescriptionID == id }.map(\.id)
    }

    /// The registry was down past every attempt: both transfers died, and go out again in order.
    @Test(arguments: StoreKind.allCases) func deadLettersAreListedAndRequeuedInOrderWithTheirKeys(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let ids = try await Self.write(store, 1, [.provideDispensation, .provideDispensation])
            let now = Date()
            try await store.settle(ids.map { .deadLetter($0, reason: "failed 8 times, last: registry answered 503") }, at: now)
            let letters = try await store.deadLetters()
            #expect(letters.map(\.id) == ids)
            #expect(letters.first?.lastError == "failed 8 times, last: registry answered 503")
            #expect(letters.first?.prescriptionID == Fixtures.prescriptionID(1))
            #expect(letters.map(\.supersededBy) == [nil, nil], "a dead letter supersedes nothing")
            #expect(try await store.outboxStatistics().dead == 2)

            for id in ids { #expect(try await store.requeue(id, at: now) == .requeued) }
            #expect(try await store.deadLetters().isEmpty)
            let due = try await store.dueTransfers(now: now.addingTimeInterval(1), limit: 10)
            #expect(due.map(\.id) == ids)
            #expect(due.map(\.idempotencyKey) == ["1-0", "1-1"] && due.allSatisfy { $0.attempts == 0 })
            #expect(try await store.readUnchecked(sql: "SELECT outcome FROM outbox_event WHERE outbox_id = \(ids[0]) ORDER BY id") == ["dead", "requeued"])
            #expect(try await store.requeue(ids[0], at: now) == .notDead, "pending again, so no longer a dead letter")
        }
    }

    /// A later transfer still pending may be in flight: the dead letter could no longer go first.
    @Test(arguments: StoreKind.allCases) func aLaterPendingTransferOfTheSameRecordSupersedesIt(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let ids = try await Self.write(store, 5, [.provideDispensation, .provideDispensation])
            try await store.settle([.deadLetter(ids[0], reason: "400")], at: Date())
            #expect(try await store.requeue(ids[0], at: Date()) == .superseded(by: ids[1]))
        }
    }

    @Test(arguments: StoreKind.allCases) func aLaterAppliedTransferOfTheSameRecordSupersedesIt(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let ids = try await Self.write(store, 2, [.providePrescription, .provideDispensation, .provideDispensation])
            let now = Date()
            try await store.settle([.deadLetter(ids[0], reason: "400"), .deadLetter(ids[1], reason: "400"), .sent(ids[2])], at: now)
            let letters = try await store.deadLetters()
            #expect(letters.map(\.supersededBy) == [nil, ids[2]], "a dispensation does not supersede the prescription")
            #expect(try await store.requeue(ids[1], at: now) == .superseded(by: ids[2]))
            #expect(try await store.requeue(ids[0], at: now) == .requeued)
            #expect(try await store.deadLetters().map(\.id) == [ids[1]])
        }
    }

    /// The prescription was cancelled at the registry: nothing dispensed on it may come back.
    @Test(arguments: StoreKind.allCases) func theCancelledPrescriptionSupersedesADispensation(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let ids = try await Self.write(store, 6, [.provideDispensation, .cancelPrescription])
            try await store.settle([.deadLetter(ids[0], reason: "400"), .sent(ids[1])], at: Date())
            #expect(try await store.deadLetters().map(\.supersededBy) == [ids[1]])
            #expect(try await store.requeue(ids[0], at: Date()) == .superseded(by: ids[1]))
        }
    }

    /// The relay sets rows it cannot read aside as dead letters; they are listed, never sent.
    @Test(arguments: StoreKind.allCases) func anUnreadableDeadLetterIsListedButNotRequeued(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            try await store.executeUnchecked(sql: """
                INSERT INTO outbox (task_id, kvnr, operation, created_at, state, idempotency_key)
                VALUES ('160.000.000.000.000.00', 'X234567890', 'provide-something-new', 0, 'dead', 'u1')
                """)
            let letters = try await store.deadLetters()
            #expect(letters.count == 1)
            #expect(letters.first?.operation == nil && letters.first?.supersededBy == nil)
            let id = try #require(letters.first?.id)
            #expect(try await store.requeue(id, at: Date()) == .unreadable)
        }
    }

    @Test(arguments: StoreKind.allCases) func anObjectingInsurantsDeadLetterStaysDead(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let ids = try await Self.write(store, 3, [.provideDispensation])
            let now = Date()
            try await store.settle([.deadLetter(ids[0], reason: "400")], at: now)
            try await store.record(Objection(kvnr: Fixtures.kvnr, category: .medication, source: .consentResource, since: now))
            #expect(try await store.requeue(ids[0], at: now) == .objected)
            #expect(try await store.deadLetters().map(\.id) == ids)
        }
    }

    @Test(arguments: StoreKind.allCases) func onlyDeadLettersCanBeRequeued(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let ids = try await Self.write(store, 4, [.provideDispensation])
            #expect(try await store.requeue(ids[0], at: Date()) == .notDead)
            #expect(try await store.requeue(9_999, at: Date()) == .notDead)
        }
    }
}
