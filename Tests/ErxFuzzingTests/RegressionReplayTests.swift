import ErxFuzzing
import Foundation
import Testing

/// Every input the fuzzers found a crash, leak or hang with (`fuzz/regressions/<target>/`), replayed
/// through the same entry functions in a plain build: a regression traps this test process.
@Suite struct FuzzRegressionTests {
    static let regressions = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fuzz/regressions")

    static func inputs(_ target: FuzzTarget) -> [URL] {
        let folder = regressions.appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { folder.appendingPathComponent($0) }
    }

    @Test("saved fuzz regressions pass", arguments: FuzzTarget.allCases)
    func replay(_ target: FuzzTarget) throws {
        for file in Self.inputs(target) {
            target.run(Array(try Data(contentsOf: file)))
        }
    }

    @Test("every regression folder belongs to a target")
    func foldersAreTargets() throws {
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: Self.regressions.path)) ?? []
        let unknown = folders.filter { !$0.hasPrefix(".") && $0 != "README.md" && FuzzTarget(rawValue: $0) == nil }
        #expect(unknown.isEmpty)
    }
}
