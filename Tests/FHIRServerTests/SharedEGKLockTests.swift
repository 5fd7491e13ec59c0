import AsyncHTTPClient
import Dispensing
import FHIRServer
import Foundation
import NIOHTTP1
import Testing

/// A_27445, A_27446 with two `erx serve` processes on one PostgreSQL database (issue 24): the daily
/// lock counts every instance's failed proofs in the store, so concurrent failures on both add up
/// (none lost) and block the pharmacy on both; per-instance counters would each stay below the limit.
@Suite(.serialized)
struct SharedEGKLockTests {
    @Test func A_27446_theDailyLockIsSharedByTheInstances() async throws {
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("erx-vsdm-\(UUID().uuidString).json")
        let secret = Data((0..<32).map { UInt8($0) }).base64EncodedString()  // EgkProofTests.key
        try Data(#"[{"betreiberkennung":"A","version":"1","cleartext_key":"\#(secret)"}]"#.utf8).write(to: keyFile)
        defer { try? FileManager.default.removeItem(at: keyFile) }
        try await withInstances(2, extraArguments: ["--vsdm-keys", keyFile.path, "--egk-daily-failure-limit", "6"]) { cluster in
            let apis = [cluster.api(0), cluster.api(1)]
            @Sendable func get(_ instance: Int, _ query: String, pharmacy: String = TestServer.pharmacyTelematikID) async throws -> Int {
                try await apis[instance].send(.GET, "/Task?\(query)", profession: .publicPharmacy, id: pharmacy).status
            }
            @Sendable func mismatch() -> String { EgkRedemptionTests.query(proofKVNR: "X999999999") }  // v2 456: counted
            @Sendable func valid() -> String { EgkRedemptionTests.query() }
            #expect(try await get(0, valid()) == 200)
            // Five failures at once, three on one instance and two on the other.
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<5 { group.addTask { try await get(index % 2, mismatch()) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 456, count: 5))
            #expect(try await get(0, valid()) == 200)
            #expect(try await get(1, valid()) == 200)
            #expect(try await get(1, mismatch()) == 456)
            #expect(try await get(0, valid()) == 423)
            #expect(try await get(1, valid()) == 423)
            #expect(try await get(1, "pnw=x") == 423)
            #expect(try await get(0, valid(), pharmacy: TestServer.otherPharmacyTelematikID) == 200)
        }
    }
}
