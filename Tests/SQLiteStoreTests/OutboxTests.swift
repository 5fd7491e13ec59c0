import Dispensing
import FHIRModel
import Foundation
import SQLiteStore
import StoreTestSupport
import Testing

/// The outbox rows the relay reads and settles: written with the change, per-insurant order,
/// settlements, and the objection table.
struct OutboxTests {
    static func transfer(_ id: PrescriptionID, kvnr: KVNR = Fixtures.kvnr, key: String) -> RegistryTransfer {
        RegistryTransfer(operation: .provideDispensation, kvnr: kvnr, prescriptionID: id, status: .inProgress, idempotencyKey: key,
                         payload: Element(name: "Parameters", children: [Element(name: "id", value: key)]))
    }

    /// Stores a task and one outbox row per key, each with its own update.
    static func write(_ store: some TaskStore & OutboxStore, _ id: PrescriptionID, kvnr: KVNR = Fixtures.kvnr, keys: [String], at written: Date = Fixtures.created) async throws {
        let task = Fixtures.task(id, kvnr: kvnr)
        _ = try await store.insert(task, audit: Fixtures.createAudit(task))
        for key in keys {
            try await store.update(id) { snapshot in
                (TaskChange(task: snapshot.task, audit: Fixtures.audit(.dispense, id, at: written), transfer: transfer(id, kvnr: kvnr, key: key)), ())
            }
        }
    }

    @Test(arguments: StoreKind.allCases) func rowsComeInWriteOrderWithTheirPayloadAndAFailedDecisionWritesNone(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            try await Self.write(store, Fixtures.prescriptionID(1), keys: ["a", "b"])
            await #expect(throws: DispensingError.secretMismatch) {
                try await store.update(Fixtures.prescriptionID(1)) { snapshot -> (TaskChange, Void) in
                    _ = TaskChange(task: snapshot.task, audit: Fixtures.audit(.dispense, snapshot.task.id, at: Fixtures.created), transfer: Self.transfer(snapshot.task.id, key: "c"))
                    throw DispensingError.secretMismatch
                }
            }
            let due = try await store.dueTransfers(now: Date(), limit: 10)
            #expect(due.map(\.idempotencyKey) == ["a", "b"])
            #expect(due.first?.operation == .provideDispensation)
            #expect(due.first?.status == .inProgress)
            #expect(String(decoding: due.first?.payload ?? [], as: UTF8.self) == #"{"resourceType":"Parameters","id":"a"}"#)
            #expect(try await store.outboxStatistics().pending == 2)
        }
    }

    @Test(arguments: StoreKind.allCases) func anInsurantWithARowNotYetDueHasNoneDueButOthersGoOn(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            try await Self.write(store, Fixtures.prescriptionID(1), keys: ["a1", "a2"])
            try await Self.write(store, Fixtures.prescriptionID(2), kvnr: Fixtures.otherKVNR, keys: ["b1"])
            let now = Date()
            let first = try await store.dueTransfers(now: now, limit: 10)
            try await store.settle([.retry(first[0].id, at: now.addingTimeInterval(60), reason: "registry answered 500")], at: now)
            #expect(try await store.dueTransfers(now: now, limit: 10).map(\.idempotencyKey) == ["b1"])
            let later = try await store.dueTransfers(now: now.addingTimeInterval(61), limit: 10)
            #expect(later.map(\.idempotencyKey) == ["a1", "a2", "b1"])
            #expect(later.first?.attempts == 1)
        }
    }

    /// The relay's read: whole insurants, oldest first, a call's worth each; a young queue waits
    /// unless it already fills a call.
    @Test(arguments: StoreKind.allCases) func dueInsurantsTakesTheOldestInsurantsACallsWorthEachAndHoldsYoungShortQueues(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            try await Self.write(store, Fixtures.prescriptionID(1), keys: ["a1", "a2", "a3"])
            try await Self.write(store, Fixtures.prescriptionID(2), kvnr: Fixtures.otherKVNR, keys: ["b1"])
            let now = Date()
            func keys(insurants: Int, perInsurant: Int, readyBefore: Date = now, excluding: Set<KVNR> = [], at time: Date = now) async throws -> [String] {
                try await store.dueInsurants(now: time, insurants: insurants, perInsurant: perInsurant, readyBefore: readyBefore, excluding: excluding, claim: nil)
                    .entries.map(\.idempotencyKey)
            }
            #expect(try await keys(insurants: 1, perInsurant: 2) == ["a1", "a2"])
            #expect(try await keys(insurants: 2, perInsurant: 2) == ["a1", "a2", "b1"])
            #expect(try await keys(insurants: 2, perInsurant: 16) == ["a1", "a2", "a3", "b1"])
            // Written after `readyBefore`: only a queue that fills a call goes now.
            let young = Fixtures.created.addingTimeInterval(-1)
            #expect(try await keys(insurants: 2, perInsurant: 2, readyBefore: young) == ["a1", "a2"])
            #expect(try await keys(insurants: 2, perInsurant: 4, readyBefore: young).isEmpty)
            #expect(try await keys(insurants: 2, perInsurant: 2, excluding: [Fixtures.kvnr]) == ["b1"])
            // An insurant with a transfer not yet due has none due.
            let first = try await store.dueTransfers(now: now, limit: 1)
            try await store.settle([.retry(first[0].id, at: now.addingTimeInterval(60), reason: "registry answered 500")], at: now)
            #expect(try await keys(insurants: 2, perInsurant: 2) == ["b1"])
            #expect(try await keys(insurants: 2, perInsurant: 2, at: now.addingTimeInterval(61)) == ["a1", "a2", "b1"])
        }
    }

    /// Several relays on one outbox (issue 21): an insurant claimed by one is due to no other until
    /// the claim expires or is given up; the holder renews only its own claims.
    @Test(arguments: StoreKind.allCases) func claimedInsurantsAreDueToTheirHolderOnlyUntilTheClaimEndsOrIsReleased(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            try await Self.write(store, Fixtures.prescriptionID(1), keys: ["a1", "a2"])
            try await Self.write(store, Fixtures.prescriptionID(2), kvnr: Fixtures.otherKVNR, keys: ["b1"])
            let now = Date()
            let first = RelayClaim(holder: "first", duration: 30), second = RelayClaim(holder: "second", duration: 30)
            func keys(_ claim: RelayClaim?, insurants: Int = 2, at time: Date = now) async throws -> [String] {
                try await store.dueInsurants(now: time, insurants: insurants, perInsurant: 4, readyBefore: time, excluding: [], claim: claim)
                    .entries.map(\.idempotencyKey)
            }
            #expect(try await keys(first, insurants: 1) == ["a1", "a2"])
            #expect(try await keys(second) == ["b1"])
            // The holder itself may read its insurants again (the relay excludes those it serves);
            // an inspection ignores claims.
            #expect(try await keys(first) == ["a1", "a2"])
            #expect(try await keys(nil) == ["a1", "a2", "b1"])
            // Renewing extends only the holder's own claims.
            #expect(try await store.renewClaims([Fixtures.kvnr, Fixtures.otherKVNR], claim: first, now: now.addingTimeInterval(20)) == [Fixtures.kvnr])
            #expect(try await keys(second, at: now.addingTimeInterval(40)) == ["b1"])
            // Expired (the holder was killed): another relay takes it over.
            #expect(try await keys(second, at: now.addingTimeInterval(51)) == ["a1", "a2", "b1"])
            // Released: at once.
            try await store.releaseClaims([Fixtures.kvnr, Fixtures.otherKVNR], holder: second.holder)
            #expect(try await keys(first, at: now.addingTimeInterval(52)) == ["a1", "a2", "b1"])
        }
    }

    /// Insurants come by their oldest transfer, not by KVNR; an old one goes while a young one is
    /// held; a transfer "written later than now" (the clock stepped back) is not held.
    @Test(arguments: StoreKind.allCases) func dueInsurantsOrdersByOldestTransferAndHoldsOnlyTheYoung(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let now = Date()
            try await Self.write(store, Fixtures.prescriptionID(2), kvnr: Fixtures.otherKVNR, keys: ["y1"])
            try await Self.write(store, Fixtures.prescriptionID(1), keys: ["x1"], at: now)
            func keys(readyBefore: Date, at time: Date = now) async throws -> [String] {
                try await store.dueInsurants(now: time, insurants: 1, perInsurant: 2, readyBefore: readyBefore, excluding: [], claim: nil)
                    .entries.map(\.idempotencyKey)
            }
            #expect(try await keys(readyBefore: now) == ["y1"])
            #expect(try await store.dueInsurants(now: now, insurants: 2, perInsurant: 2, readyBefore: now.addingTimeInterval(-1), excluding: [Fixtures.otherKVNR], claim: nil)
                .entries.isEmpty)
            #expect(try await store.dueInsurants(now: now.addingTimeInterval(-10), insurants: 2, perInsurant: 2, readyBefore: now.addingTimeInterval(-11),
                                                 excluding: [Fixtures.otherKVNR], claim: nil).entries.map(\.idempotencyKey) == ["x1"])
        }
    }

    @Test(arguments: StoreKind.allCases) func settlementsSendDeadLetterPauseAndDropOnlyWhatTheyName(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            try await Self.write(store, Fixtures.prescriptionID(1), keys: ["a1", "a2", "a3"])
            try await Self.write(store, Fixtures.prescriptionID(2), kvnr: Fixtures.otherKVNR, keys: ["b1", "b2"])
            let now = Date()
            let due = try await store.dueTransfers(now: now, limit: 10)
            let objection = Objection(kvnr: Fixtures.otherKVNR, category: .medication, source: .registryLocked, since: now)
            try await store.settle([.sent(due[0].id), .deadLetter(due[1].id, reason: "registry answered 400"),
                                    .drop(Fixtures.otherKVNR, through: due[3].id, reason: "registry answered 423 locked", objection: objection)], at: now)
            #expect(try await store.dueTransfers(now: now, limit: 10).map(\.idempotencyKey) == ["a3", "b2"])
            let statistics = try await store.outboxStatistics()
            #expect(statistics.pending == 2)
            #expect(statistics.dead == 1)
            #expect(try await store.objections(of: Fixtures.otherKVNR) == [objection])
            try await store.settle([.pause(Fixtures.kvnr, until: now.addingTimeInterval(3600), reason: "registry answered 409")], at: now)
            #expect(try await store.dueTransfers(now: now.addingTimeInterval(3599), limit: 10).map(\.idempotencyKey) == ["b2"])
            #expect(try await store.dueTransfers(now: now.addingTimeInterval(3601), limit: 10).count == 2)
        }
    }

    @Test(arguments: StoreKind.allCases) func objectionsOfSeveralInsurantsComeInOneReadGroupedByInsurant(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let first = Objection(kvnr: Fixtures.kvnr, category: .medication, source: .consentResource, since: Fixtures.created)
            let second = Objection(kvnr: Fixtures.kvnr, category: .erpSubmission, source: .consentDecision, since: Fixtures.created.addingTimeInterval(5))
            let other = Objection(kvnr: Fixtures.otherKVNR, category: .medication, source: .registryLocked, since: Fixtures.created)
            for objection in [second, other, first] { try await store.record(objection) }
            let unknown = try #require(KVNR("Z000000001"))
            let found = try await store.objections(of: [Fixtures.kvnr, Fixtures.otherKVNR, unknown])
            #expect(found == [Fixtures.kvnr: [first, second], Fixtures.otherKVNR: [other]])
            #expect(try await store.objections(of: [unknown]).isEmpty)
            #expect(try await store.objections(of: Set<KVNR>()).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases) func objectionsAreKeptPerSourceAndCategoryAndLiftedBySource(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let now = Date(timeIntervalSinceReferenceDate: 800_000_000)
            for (source, category) in [(ObjectionSource.consentResource, ObjectionCategory.medication), (.consentDecision, .erpSubmission), (.registryLocked, .medication)] {
                try await store.record(Objection(kvnr: Fixtures.kvnr, category: category, source: source, since: now))
            }
            #expect(try await store.objections(of: Fixtures.kvnr).count == 3)
            #expect(try await store.objections(of: Fixtures.otherKVNR).isEmpty)
            #expect(try await store.liftObjections(of: Fixtures.kvnr, sources: ObjectionSource.registry, category: nil, recordedBefore: now) == 0)
            #expect(try await store.liftObjections(of: Fixtures.kvnr, sources: ObjectionSource.registry, category: nil, recordedBefore: nil) == 2)
            #expect(try await store.objections(of: Fixtures.kvnr).map(\.source) == [.consentResource])
            #expect(try await store.liftObjections(of: Fixtures.kvnr, sources: [.consentResource], category: .erpSubmission, recordedBefore: nil) == 0)
        }
    }
}
