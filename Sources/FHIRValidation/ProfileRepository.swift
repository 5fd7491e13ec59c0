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
    /// `name#version` of the package it came from, where the directory has a `package.json`.
    public let package: String?
    /// Resources of a higher precedence win over lower ones whatever their versions (user packages over ours).
    public let precedence: Int
}

/// A package's identity and the packages it depends on (`version` may be a pattern such as `1.1.x`).
public struct PackageManifest: Sendable, Hashable {
    public let name: String
    public let version: String
    public let dependencies: [String: String]
    public var id: String { "\(name)#\(version)" }
}

/// The conformance resources a validator resolves canonicals against: our own `profiles/` plus any
/// directories of official packages. Directories loaded with a higher precedence win (user-supplied
/// packages over ours); among equals, a resource added later replaces one with the same URL and version.
public struct ProfileRepository: Sendable {
    public static let resourceTypes: Set<String> = ["StructureDefinition", "ValueSet", "CodeSystem", "NamingSystem"]

    private var byURL: [String: [CanonicalResource]] = [:]
    /// Loaded packages by id, for resolving a canonical the way the package that refers to it would.
    public private(set) var packages: [String: PackageManifest] = [:]
    /// Files that could not be read, as warnings (a package with one broken file still loads).
    public private(set) var problems: [OperationOutcome.Issue] = []

    public init() {}

    public var count: Int { byURL.values.reduce(0) { $0 + $1.count } }

    /// Loads every JSON or XML conformance resource below `directory` (other resources are skipped).
    /// `precedence`: definitions loaded with a higher precedence win over those with a lower one.
    public mutating func load(directory: URL, precedence: Int = 0) throws {
        let manifest = Self.manifest(in: directory)
        if let manifest { packages[manifest.id] = manifest }
        guard let files = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil,
                                                                options: [.skipsHiddenFiles]) else {
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
                add(resource.resource, source: file.path, package: manifest?.id, precedence: precedence)
            } catch {
                var issue = error.issue
                issue.severity = .warning
                issue.text = "\(file.lastPathComponent): \(issue.text)"
                problems.append(issue)
            }
        }
    }

    /// Adds one resource; ignores resources that are not conformance resources.
    /// A Bundle contributes its entries (the generated core definitions come as one collection Bundle).
    public mutating func add(_ resource: Element, source: String, package: String? = nil, precedence: Int = 0) {
        if resource.name == "Bundle" {
            for entry in resource.children(named: "entry") {
                if let inner = entry.child("resource")?.wrappedResource {
                    add(inner, source: source, package: package, precedence: precedence)
                }
            }
            return
        }
        guard Self.resourceTypes.contains(resource.name) else { return }
        var urls: [String] = []
        if resource.name == "NamingSystem" {
            urls = resource.children(named: "uniqueId").filter { $0.value(of: "type") == "uri" }.compactMap { $0.value(of: "value") }
        } else if let url = resource.value(of: "url") {
            urls = [url]
        }
        let version = resource.value(of: "version")
        for url in urls {
            let entry = CanonicalResource(resourceType: resource.name, url: url, version: version, element: resource, source: source,
                                          package: package, precedence: precedence)
            byURL[url, default: []].removeAll {
                $0.version == version && $0.resourceType == resource.name && $0.precedence <= precedence
            }
            byURL[url, default: []].append(entry)
        }
    }

    /// Resolves `url` or `url|version`. A version matches exactly, or as a prefix of dotted components
    /// (`|1.6` finds 1.6.4, the highest such); without a version the highest version wins. Only the highest
    /// precedence that has a match is considered; within it, resources of the `preferring` packages win
    /// (a definition resolves its references within its own package's dependencies first).
    public func resolve(_ canonical: String, type: String? = nil, preferring: Set<String> = []) -> CanonicalResource? {
        let parts = canonical.split(separator: "|", maxSplits: 1).map(String.init)
        guard let url = parts.first, var candidates = byURL[url] else { return nil }
        if let type { candidates = candidates.filter { $0.resourceType == type } }
        for precedence in Set(candidates.map(\.precedence)).sorted(by: >) {
            var matching = candidates.filter { $0.precedence == precedence }
            if parts.count == 2 {
                let wanted = parts[1]
                let exact = matching.filter { $0.version == wanted }
                matching = exact.isEmpty ? matching.filter { ($0.version ?? "").hasPrefix(wanted + ".") } : exact
            }
            let preferred = matching.filter { $0.package.map(preferring.contains) ?? false }
            if let best = (preferred.isEmpty ? matching : preferred).max(by: { Self.isOlder($0.version, than: $1.version) }) {
                return best
            }
        }
        return nil
    }

    public func structureDefinition(_ canonical: String, preferring: Set<String> = []) -> CanonicalResource? {
        resolve(canonical, type: "StructureDefinition", preferring: preferring)
    }

    /// The package and, transitively, the loaded packages it depends on. A dependency version pattern
    /// (`1.1.x`) matches the loaded versions it covers.
    public func closure(of package: String) -> Set<String> {
        var result: Set<String> = []
        var pending = [package]
        while let id = pending.popLast() {
            guard result.insert(id).inserted, let manifest = packages[id] else { continue }
            for (name, version) in manifest.dependencies {
                let prefix = version.hasSuffix(".x") ? String(version.dropLast(1)) : nil
                for candidate in packages.values where candidate.name == name
                    && (candidate.version == version || prefix.map(candidate.version.hasPrefix) == true)
                {
                    pending.append(candidate.id)
                }
            }
        }
        return result
    }

    static func manifest(in directory: URL) -> PackageManifest? {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent("package.json").path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let name = object["name"] as? String, let version = object["version"] as? String
        else { return nil }
        return PackageManifest(name: name, version: version, dependencies: object["dependencies"] as? [String: String] ?? [:])
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
