import Crypto
@_spi(CMS) import X509
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
            let certificates = LockedCertificates()
            DispatchQueue.concurrentPerform(iterations: 12) { _ in
                let issuer = try? ReceiptIssuer.loadOrCreate(in: directory)
                keys.add(issuer?.publicKey.rawRepresentation)
                certificates.add(issuer?.certificate)
            }
            let kept = try ReceiptIssuer.loadOrCreate(in: directory).publicKey.rawRepresentation
            #expect(keys.all.count == 12, "round \(round): a start failed")
            #expect(keys.all.allSatisfy { $0 == kept }, "round \(round): an instance signs with a key the directory does not keep")
            // No drafts are left beside the key and its certificate, and every instance has the one certificate kept.
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == [ReceiptIssuer.certificateFileName, ReceiptIssuer.fileName])
            #expect(certificates.all.allSatisfy { $0 == (try? ReceiptIssuer.loadOrCreate(in: directory).certificate) }, "round \(round): an instance signs with a certificate the directory does not keep")
        }
    }
}

private final class LockedKeys: @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [Data] = []
    func add(_ key: Data?) { lock.withLock { if let key { keys.append(key) } } }
    var all: [Data] { lock.withLock { keys } }
}

private final class LockedCertificates: @unchecked Sendable {
    private let lock = NSLock()
    private var certificates: [Certificate] = []
    func add(_ certificate: Certificate?) { lock.withLock { if let certificate { certificates.append(certificate) } } }
    var all: [Certificate] { lock.withLock { certificates } }
}
