import Foundation
import StoreTestSupport

/// Debian's `openssl`, as a pharmacy's or billing centre's software would check a CMS.
enum OpenSSL {
    static func run(_ arguments: [String]) throws -> Int32 {
        try ProcessLaunch.openssl(arguments).status
    }

    static func verify(cms: [UInt8], caFile: URL) throws -> (status: Int32, output: [UInt8], error: String) {
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("erx-cms-\(UUID().uuidString).der")
        try Data(cms).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let finished = try ProcessLaunch.openssl(["cms", "-verify", "-binary", "-inform", "DER", "-in", input.path, "-CAfile", caFile.path, "-purpose", "any"])
        return (finished.status, Array(finished.output), String(decoding: finished.error, as: UTF8.self))
    }
}
