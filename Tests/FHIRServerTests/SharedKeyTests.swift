import Crypto
import FHIRServer
import Foundation
import Testing

/// Several instances share one data directory for their keys (issue 21) and may start at the same
/// moment on an empty one: each must end up with the key the directory keeps, never one of its own.
@Suite struct SharedKeyTests {
    @Test func instancesStartingAtOnceOnAnEmptyDirectoryAllUseTheOneKeyItKeeps() throws {
        for round in 0..<5 {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-keys-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let keys = LockedKeys()
            DispatchQueue.concurrentPerform(iterations: 12) { _ in
                keys.add(try? ReceiptIssuer.loadOrCreate(in: directory).publicKey.rawRepresentation)
            }
            let kept = try ReceiptIssuer.loadOrCreate(in: directory).publicKey.rawRepresentation
            #expect(keys.all.count == 12, "round \(round): a start failed")
            #expect(keys.all.allSatisfy { $0 == kept }, "round \(round): an instance signs with a key the directory does not keep")
            // No drafts are left beside the key.
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == [ReceiptIssuer.fileName])
        }
    }
}

private final class LockedKeys: @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [Data] = []
    func add(_ key: Data?) { lock.withLock { if let key { keys.append(key) } } }
    var all: [Data] { lock.withLock { keys } }
}
