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
}
