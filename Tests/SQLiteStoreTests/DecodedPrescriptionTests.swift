import Dispensing
import FHIRModel
import Foundation
@testable import SQLiteStore
import Testing

/// The writer decodes prescriptions through a cache (``DecodedResourceCache``); a rule must still
/// always see exactly what is stored.
@Suite struct DecodedPrescriptionTests {
    @Test func aRuleSeesAPrescriptionChangedBehindTheCache() async throws {
        try await withTemporaryStore { store async throws in
            let task = Fixtures.task(Fixtures.prescriptionID(50))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            let seen = { @Sendable () async throws -> Element? in
                try await store.update(task: task.id) { current in
                    (TaskChange(task: current, audit: Fixtures.audit(.read, current.id, at: Fixtures.created)), current.prescription)
                }
            }
            #expect(try await seen() == Fixtures.prescriptionBundle(task.id))
            #expect(try await seen() == Fixtures.prescriptionBundle(task.id))
            #expect(store.prescriptionCacheStatistics.hits >= 1, "the second read reuses the decoding")
            // Same length, other bytes: only a comparison of the bytes themselves can tell.
            try await store.executeUnchecked(sql: """
                UPDATE task SET prescription = CAST(replace(CAST(prescription AS TEXT), '"mr1"', '"mr2"') AS BLOB)
                """)
            let changed = try #require(try await seen())
            #expect(changed != Fixtures.prescriptionBundle(task.id))
            #expect(changed.children(named: "entry").first?.child("resource")?.wrappedResource?.value(of: "id") == "mr2")
        }
    }

    @Test func theCacheKeepsAtMostItsCapacityAndAnswersOnlyForTheSameBytes() throws {
        let cache = DecodedResourceCache(capacity: 2)
        var decodes = 0
        func decode(_ bytes: Data) throws -> Element {
            decodes += 1
            return Fixtures.resource(String(decoding: bytes, as: UTF8.self))
        }
        let one = Data(#"{"resourceType":"Basic","id":"one"}"#.utf8)
        let two = Data(#"{"resourceType":"Basic","id":"two"}"#.utf8)
        #expect(try cache.resource("a", bytes: one, decode: decode).value(of: "id") == "one")
        #expect(try cache.resource("a", bytes: one, decode: decode).value(of: "id") == "one")
        #expect(decodes == 1)
        #expect(try cache.resource("a", bytes: two, decode: decode).value(of: "id") == "two")
        #expect(decodes == 2)
        for key in ["b", "c", "d"] { _ = try cache.resource(key, bytes: one, decode: decode) }
        #expect(cache.count == 2)
        #expect(decodes == 5)
        _ = try cache.resource("d", bytes: one, decode: decode)
        #expect(decodes == 5, "the last one in is kept")
        #expect(cache.statistics.hits == 2 && cache.statistics.decodes == 5)
    }
}
