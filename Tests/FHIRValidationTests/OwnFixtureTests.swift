import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRValidation
import Foundation
import Testing

/// Our own fixtures (`fixtures/validation/`): each valid body passes our profiles, and each broken copy
/// gets exactly the issue `invalid/EXPECTED.tsv` names. With `../shared` present, the same verdicts hold
/// against the official packages (valid: no error; invalid: at least one).
struct OwnFixtureTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/validation")

    static let ours = ProfileValidator(profiles: CompiledProfiles(repository: try! ErxProfiles.repository()))

    static let official: ProfileValidator? = {
        guard let validator = CorpusAgreementTests.validator else { return nil }
        return validator
    }()

    struct Expectation: Sendable, CustomStringConvertible {
        let file: String
        let severity: String
        let code: String
        let expression: String
        let rule: String
        var description: String { "\(file) \(rule)" }
    }

    static let validFiles: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: fixtures.appendingPathComponent("valid").path)) ?? [])
        .filter { $0.hasSuffix(".json") }.sorted()

    static let expectations: [Expectation] = {
        guard let text = try? String(contentsOf: fixtures.appendingPathComponent("invalid/EXPECTED.tsv"), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().map { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return Expectation(file: fields[0], severity: fields[2], code: fields[3], expression: fields[4], rule: fields[5])
        }
    }()

    static func read(_ path: String) throws -> Element {
        try FHIRJSONReader().read(Array(try Data(contentsOf: fixtures.appendingPathComponent(path)))).resource
    }

    @Test func thereAreFixtures() {
        #expect(Self.validFiles.count >= 5)
        #expect(Self.expectations.count >= 10)
    }

    @Test(arguments: validFiles) func validBodyPassesOurProfiles(_ file: String) throws {
        let issues = Self.ours.validate(try Self.read("valid/\(file)")).issues
        let errors = issues.filter { $0.severity == .error }
        #expect(errors.isEmpty, "\(errors.map(\.summary))")
        #expect(!issues.contains { $0.code == .notSupported || $0.code == .notFound }, "\(issues.map(\.summary))")
    }

    @Test(arguments: validFiles) func validBodyPassesTheOfficialPackages(_ file: String) throws {
        guard let official = Self.official else { return }
        let errors = official.validate(try Self.read("valid/\(file)")).issues.filter { $0.severity == .error }
        #expect(errors.isEmpty, "\(errors.map(\.summary))")
    }

    @Test(arguments: expectations) func brokenCopyGetsItsIssue(_ expected: Expectation) throws {
        let issues = Self.ours.validate(try Self.read("invalid/\(expected.file)")).issues
        let match = issues.contains { issue in
            issue.severity.rawValue == expected.severity && issue.code.rawValue == expected.code
                && issue.expression == [expected.expression]
                && (expected.rule == "unknown-extension" || issue.text.hasPrefix(expected.rule + ":"))
        }
        #expect(match, "\(issues.filter { $0.severity == .error }.map { "\($0.code.rawValue) \($0.expression) \($0.text)" })")
    }

    @Test(arguments: Set(expectations.map(\.file)).sorted()) func brokenCopyFailsTheOfficialPackages(_ file: String) throws {
        guard let official = Self.official else { return }
        #expect(official.validate(try Self.read("invalid/\(file)")).hasErrors)
    }
}
