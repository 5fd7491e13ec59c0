import Foundation

/// Where the repository's own fixtures and the shared corpus live.
enum Locations {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let ownFixtures = repositoryRoot.appendingPathComponent("fixtures")

    /// `../shared/fixtures` beside the checkout (or `ERX_SHARED_FIXTURES`); `nil` when absent, so a fresh
    /// clone without the corpus still passes.
    static let sharedFixtures: URL? = {
        let candidate = ProcessInfo.processInfo.environment["ERX_SHARED_FIXTURES"].map(URL.init(fileURLWithPath:))
            ?? repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
        return FileManager.default.fileExists(atPath: candidate.appendingPathComponent("MANIFEST.tsv").path) ? candidate : nil
    }()

    static func bytes(_ url: URL) throws -> [UInt8] {
        Array(try Data(contentsOf: url))
    }
}
