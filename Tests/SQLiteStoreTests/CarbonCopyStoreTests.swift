import Dispensing
import FHIRModel
import Foundation
import SQLiteStore
import StoreTestSupport
import Testing

/// The carbon-copy outbox of both stores (migration 11; A_27828): a copy is written in the change's
/// transaction (none when the change fails), claimed by one relay at a time, and settled sent,
/// retried or given up; a claim that ran out passes to another relay.
struct CarbonCopyStoreTests {
    static func copy(_ id: PrescriptionID, key: String) -> CarbonCopy {
        CarbonCopy(prescriptionID: id, idempotencyKey: key, payload: Element(name: "Parameters", children: [
            Element(name: "meta", children: [Element(name: "profile", value: CarbonCopies.profile)]),
        ]))
    }

    @Test(arguments: StoreKind.allCases)
    func copiesAreWrittenWithTheChangeClaimedOnceAndSettled(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let ids = [Fixtures.prescriptionID(1), Fixtures.prescriptionID(2)]
            for (index, id) in ids.enumerated() {
                let task = Fixtures.task(id)
                _ = try await store.insert(task, audit: Fixtures.createAudit(task))
                try await store.update(id) { snapshot in
                    (TaskChange(task: snapshot.task, audit: Fixtures.audit(.close, id, at: Fixtures.created),
                                carbonCopy: Self.copy(id, key: "k\(index)")), ())
                }
            }
            // A failing decision writes no copy.
            await #expect(throws: DispensingError.secretMismatch) {
                try await store.update(ids[0]) { snapshot -> (TaskChange, Void) in
                    _ = TaskChange(task: snapshot.task, audit: Fixtures.audit(.close, ids[0], at: Fixtures.created), carbonCopy: Self.copy(ids[0], key: "never"))
                    throw DispensingError.secretMismatch
                }
            }
            #expect(try await store.carbonCopyStatistics().pending == 2)

            let now = Date()
            let first = RelayClaim(holder: "first", duration: 30), second = RelayClaim(holder: "second", duration: 30)
            let due = try await store.dueCarbonCopies(now: now, limit: 1, claim: first)
            #expect(due.map(\.idempotencyKey) == ["k0"])
            #expect(due.first?.prescriptionID == ids[0])
            let body = String(decoding: due.first?.body ?? [], as: UTF8.self)
            #expect(body.contains("erp-tprescription-carbon-copy|1.1"))
            let rest = try await store.dueCarbonCopies(now: now, limit: 10, claim: second)
            #expect(rest.map(\.idempotencyKey) == ["k1"], "the first relay's claim holds k0")
            #expect(try await store.dueCarbonCopies(now: now, limit: 10, claim: second).map(\.idempotencyKey) == ["k1"], "a holder keeps its own")

            try await store.settleCarbonCopies([.retry(due[0].id, at: now.addingTimeInterval(60), reason: "500")], at: now)
            #expect(try await store.dueCarbonCopies(now: now.addingTimeInterval(1), limit: 10, claim: first).isEmpty, "backing off; k1 is claimed")
            let again = try await store.dueCarbonCopies(now: now.addingTimeInterval(61), limit: 10, claim: first)
            #expect(again.map(\.idempotencyKey) == ["k0", "k1"], "k1's claim ran out")
            #expect(again.first?.attempts == 1)
            try await store.settleCarbonCopies([.sent(again[0].id), .deadLetter(again[1].id, reason: "400")], at: now)
            #expect(try await store.carbonCopyStatistics() == OutboxStatistics(pending: 0, oldestPending: nil, dead: 1))
            #expect(try await store.dueCarbonCopies(now: now.addingTimeInterval(3600), limit: 10, claim: second).isEmpty)
        }
    }
}
