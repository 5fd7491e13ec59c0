import Foundation
import StoreTestSupport

/// Debian's `openssl`, as a pharmacy's or billing centre's software would check a CMS.
enum OpenSSL {
    static func run(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try ProcessLaunch.run(process)
        process.waitUntilExit()
        return process.terminationStatus
    }

    static func verify(cms: [UInt8], caFile: URL) throws -> (status: Int32, output: [UInt8], error: String) {
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("erx-cms-\(UUID().uuidString).der")
        try Data(cms).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", input.path, "-CAfile", caFile.path, "-purpose", "any"]
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try ProcessLaunch.run(process)
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        let message = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, Array(bytes), String(decoding: message, as: UTF8.self))
    }
}
