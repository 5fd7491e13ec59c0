import Dispensing
import Foundation
import Testing

@Suite struct RandomUUIDTests {
    @Test func isAVersion4UUIDInLowercase() throws {
        let uuids = (0..<1000).map { _ in RandomIDGenerator.randomUUID() }
        #expect(Set(uuids).count == uuids.count)
        for text in uuids {
            let parsed = try #require(UUID(uuidString: text))
            #expect(parsed.uuidString.lowercased() == text)
            let bytes = withUnsafeBytes(of: parsed.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 4)
            #expect(bytes[8] >> 6 == 0b10)
        }
    }

    @Test func timeOrderedUUIDsAreVersion7AndSortByTheirMillisecond() throws {
        // Two milliseconds apart, each in the middle of its millisecond (no rounding at the edges).
        let start = Date(timeIntervalSince1970: 1_764_000_000)
        let uuids = (0..<1000).map { RandomIDGenerator.timeOrderedUUID(now: start.addingTimeInterval(Double($0) * 0.002 + 0.0005)) }
        #expect(Set(uuids).count == uuids.count)
        #expect(uuids.sorted() == uuids)
        for text in uuids {
            let parsed = try #require(UUID(uuidString: text))
            #expect(parsed.uuidString.lowercased() == text)
            let bytes = withUnsafeBytes(of: parsed.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 7)
            #expect(bytes[8] >> 6 == 0b10)
        }
        // The first 48 bits are the Unix time in milliseconds.
        let first = try #require(UUID(uuidString: uuids[0]))
        let milliseconds = withUnsafeBytes(of: first.uuid) { $0.prefix(6).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
        #expect(milliseconds == 1_764_000_000_000)
    }
}
