public import FHIRModel
public import Foundation
import FHIRFormats

/// A conformance resource (StructureDefinition, ValueSet, CodeSystem, NamingSystem) and where it came from.
public struct CanonicalResource: Sendable {
    public let resourceType: String
    public let url: String
    public let version: String?
    public let element: Element
    /// The file it was read from, for messages.
    public let source: String
}

/// The conformance resources a validator resolves canonicals against: our own `profiles/` plus any
/// directories of official packages. Resources added later take precedence over earlier ones with the
/// same URL and version, so user-supplied packages override ours.
public struct ProfileRepository: Sendable {
    public static let resourceTypes: Set<String> = ["StructureDefinition", "ValueSet", "CodeSystem", "NamingSystem"]

    private var byURL: [String: [CanonicalResource]] = [:]
    /// Files that could not be read, as warnings (a package with one broken file still loads).
    public private(set) var problems: [OperationOutcome.Issue] = []

    public init() {}

    public var count: Int { byURL.values.reduce(0) { $0 + $1.count } }

    /// Loads every JSON or XML conformance resource below `directory` (other resources are skipped).
    public mutating func load(directory: URL) throws {
        guard let files = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: directory.path])
        }
        var paths: [URL] = []
        // `package.json` is the npm manifest of a package, not a FHIR resource.
        for case let file as URL in files where ["json", "xml"].contains(file.pathExtension) && file.lastPathComponent != "package.json" {
            paths.append(file)
        }
        // Sorted, so that precedence inside one directory does not depend on the file system's order.
        for file in paths.sorted(by: { $0.path < $1.path }) {
            guard let data = FileManager.default.contents(atPath: file.path) else { continue }
            let bytes = Array(data)
            guard let format = FHIRFormat.sniff(bytes) else { continue }
            do {
                // Lenient: official packages carry elements of later FHIR versions in places.
                let resource = try format.read(bytes, options: DecodingOptions(mode: .lenient, limits: .init(maxInputBytes: 64 << 20)))
                add(resource.resource, source: file.path)
            } catch {
                var issue = error.issue
                issue.severity = .warning
                issue.text = "\(file.lastPathComponent): \(issue.text)"
                problems.append(issue)
            }
        }
    }

    /// Adds one resource; ignores resources that are not conformance resources.
    public mutating func add(_ resource: Element, source: String) {
        guard Self.resourceTypes.contains(resource.name) else { return }
        var urls: [String] = []
        if resource.name == "NamingSystem" {
            urls = resource.children(named: "uniqueId").filter { $0.value(of: "type") == "uri" }.compactMap { $0.value(of: "value") }
        } else if let url = resource.value(of: "url") {
            urls = [url]
        }
        let version = resource.value(of: "version")
        for url in urls {
            let entry = CanonicalResource(resourceType: resource.name, url: url, version: version, element: resource, source: source)
            byURL[url, default: []].removeAll { $0.version == version && $0.resourceType == resource.name }
            byURL[url, default: []].append(entry)
        }
    }

    /// Resolves `url` or `url|version`. A version matches exactly, or as a prefix of dotted components
    /// (`|1.6` finds 1.6.4, the highest such); without a version the highest version wins.
    public func resolve(_ canonical: String, type: String? = nil) -> CanonicalResource? {
        let parts = canonical.split(separator: "|", maxSplits: 1).map(String.init)
        guard let url = parts.first, var candidates = byURL[url] else { return nil }
        if let type { candidates = candidates.filter { $0.resourceType == type } }
        guard parts.count == 2 else { return candidates.max { Self.isOlder($0.version, than: $1.version) } }
        let wanted = parts[1]
        if let exact = candidates.last(where: { $0.version == wanted }) { return exact }
        return candidates.filter { ($0.version ?? "").hasPrefix(wanted + ".") }.max { Self.isOlder($0.version, than: $1.version) }
    }

    public func structureDefinition(_ canonical: String) -> CanonicalResource? {
        resolve(canonical, type: "StructureDefinition")
    }

    /// Compares dotted versions numerically where the components are numbers (`1.10` after `1.9`).
    static func isOlder(_ a: String?, than b: String?) -> Bool {
        let left = (a ?? "").split(separator: "."), right = (b ?? "").split(separator: ".")
        for (x, y) in zip(left, right) where x != y {
            if let p = Int(x), let q = Int(y) { return p < q }
            return x < y
        }
        return left.count < right.count
    }
}
