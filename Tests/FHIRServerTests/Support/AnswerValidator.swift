import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRValidation
import Dispatch
import Foundation
import HTTPTypes
import Synchronization
import Testing

/// Validates what the server answers (issue 20, item 9): every resource of a body, and every resource
/// nested in a Bundle's entries, against the profiles it claims in `meta.profile` (R4 core's definition
/// of its type when it claims none), with our validator loaded with the official packages of
/// `../shared/fixtures/definitions`. Any issue of severity error or fatal, and any warning that something
/// could not be checked, is a test failure that names the route, the resource type and the issues. (The
/// lexical form of every primitive is checked before, by the strict reader that parses the answer.)
enum AnswerValidator {
    static let definitions = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/fixtures/definitions")

    static var packagesAvailable: Bool { FileManager.default.fileExists(atPath: definitions.path) }

    /// Our definitions (which include the TI extension no official package here defines) overridden
    /// by every official package, loaded and compiled once per test process: this is the slow part.
    /// Async callers wait for ``loaded()`` first, so the loading never runs on a cooperative thread.
    static let validator: ProfileValidator = {
        let packages = ((try? FileManager.default.contentsOfDirectory(atPath: definitions.path)) ?? []).sorted()
        let repository = try! ErxProfiles.repository(adding: packages.map { definitions.appendingPathComponent($0) })
        return ProfileValidator(profiles: CompiledProfiles(repository: repository))
    }()

    /// The validator, loaded on a Dispatch thread: parsing every package takes seconds, and meanwhile
    /// the test process's cooperative threads (two on a two-core machine) must stay free, or the timing
    /// tests of other suites running alongside stall (RegistrySimulatorTests' FaultTests did).
    @discardableResult
    static func loaded() async -> ProfileValidator {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: validator) }
        }
    }

    /// The profiles one test run validated against, so it can show it covered every kind of answer.
    final class Tally: Sendable {
        private let profiles = Mutex<Set<String>>([])

        func validated(_ profile: String) { profiles.withLock { _ = $0.insert(profile) } }
        var validated: Set<String> { profiles.withLock { $0 } }
    }

    /// Checks the status, then validates the body if there is one; returns the body.
    @discardableResult
    static func check(_ reply: Reply, route: String, status: HTTPResponse.Status, tally: Tally,
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> Element? {
        #expect(reply.status == status, "\(route): \(String(decoding: reply.bytes.prefix(600), as: UTF8.self))", sourceLocation: sourceLocation)
        guard !reply.bytes.isEmpty else { return nil }
        let resource = try reply.resource()
        validate(resource, route: route, tally: tally, sourceLocation: sourceLocation)
        return resource
    }

    /// Validates `resource` (which descends into every entry) and checks that every profile claimed
    /// anywhere in it resolves: the validator alone only warns about a claimed profile it cannot find.
    static func validate(_ resource: Element, route: String, tally: Tally, sourceLocation: SourceLocation = #_sourceLocation) {
        let repository = validator.profiles.repository
        for nested in resources(in: resource) {
            let claimed = nested.child("meta")?.children(named: "profile").compactMap(\.value) ?? []
            for profile in claimed {
                #expect(repository.structureDefinition(profile) != nil, "\(route): \(nested.name) claims \(profile), which no package defines",
                        sourceLocation: sourceLocation)
                tally.validated(profile)
            }
            if claimed.isEmpty { tally.validated("http://hl7.org/fhir/StructureDefinition/\(nested.name)") }
        }
        // Errors, and the warnings that say something went unchecked (a profile, value set or invariant
        // the validator could not use): an answer is only known valid where everything was checked.
        let issues = validator.validate(resource).issues.filter {
            $0.severity == .error || $0.severity == .fatal || $0.code == .notSupported || $0.code == .notFound
        }
        let lines = issues.map { "  [\(resourceType(at: $0.expression.first ?? "", in: resource))] \($0.summary)" }
        #expect(lines.isEmpty, "\(route) answered a \(resource.name) that does not validate:\n\(lines.joined(separator: "\n"))",
                sourceLocation: sourceLocation)
    }

    /// The resource and, recursively, every resource in its Bundle entries.
    static func resources(in resource: Element) -> [Element] {
        [resource] + resource.children(named: "entry").compactMap { $0.child("resource")?.wrappedResource }.flatMap(resources(in:))
    }

    /// The type of the innermost resource an issue's expression (`Bundle.entry[1].resource.meta`) lies in.
    static func resourceType(at expression: String, in root: Element) -> String {
        var current = root
        var type = root.name
        for step in expression.split(separator: ".").dropFirst() {
            let name = String(step.prefix { $0 != "[" })
            let index = step.firstIndex(of: "[").flatMap { Int(step[step.index(after: $0)...].prefix { $0 != "]" }) } ?? 0
            let matching = current.children(named: name)
            guard index < matching.count else { break }
            current = matching[index]
            if name == "resource" || name == "contained", let inner = current.wrappedResource {
                current = inner
                type = inner.name
            }
        }
        return type
    }
}
