import FHIRModel
import Synchronization

/// A compiled StructureDefinition: its tree, and what it constrains.
public struct CompiledProfile: Sendable {
    public let url: String
    public let version: String?
    /// The resource or type it constrains (`MedicationDispense`, `Extension`, `Identifier`).
    public let type: String
    /// The package it comes from and that package's dependencies: where its references resolve first.
    public let packages: Set<String>
    public let root: ProfileNode

    /// `url|version`, as `meta.profile` would name exactly this definition.
    public var canonical: String { version.map { "\(url)|\($0)" } ?? url }
}

/// Snapshots and compiled profiles, made on first use from a ``ProfileRepository`` and kept. Safe to share
/// between concurrent validations: the caches sit behind a mutex held only for lookups and inserts.
public final class CompiledProfiles: Sendable {
    public let repository: ProfileRepository
    private let snapshots = Mutex<[String: [ElementConstraint]]>([:])
    private let compiled = Mutex<[String: CompiledProfile]>([:])
    /// Canonicals that could not be compiled, with the reason, so the work is not repeated.
    private let failures = Mutex<[String: ValidationSetupError]>([:])
    private let closures = Mutex<[String: Set<String>]>([:])

    public init(repository: ProfileRepository) {
        self.repository = repository
    }

    /// The compiled profile for `canonical` (`url` or `url|version`); `nil` when no definition has that URL.
    /// `preferring`: packages whose versions win (see ``ProfileRepository/resolve(_:type:preferring:)``).
    public func profile(_ canonical: String, preferring: Set<String> = []) throws(ValidationSetupError) -> CompiledProfile? {
        guard let resource = repository.structureDefinition(canonical, preferring: preferring) else { return nil }
        let key = Self.key(resource)
        if let hit = compiled.withLock({ $0[key] }) { return hit }
        if let failure = failures.withLock({ $0[key] }) { throw failure }
        do throws(ValidationSetupError) {
            guard let snapshot = try snapshot(of: resource), let root = ProfileNode.tree(of: snapshot) else {
                throw ValidationSetupError("\(key): no elements")
            }
            let profile = CompiledProfile(url: resource.url, version: resource.version,
                                          type: resource.element.value(of: "type") ?? root.constraint.path,
                                          packages: packages(of: resource), root: root)
            compiled.withLock { $0[key] = profile }
            return profile
        } catch {
            failures.withLock { $0[key] = error }
            throw error
        }
    }

    /// The snapshot of a definition: its own, or one generated from its differential and its base.
    func snapshot(of resource: CanonicalResource) throws(ValidationSetupError) -> [ElementConstraint]? {
        let key = Self.key(resource)
        if let hit = snapshots.withLock({ $0[key] }) { return hit }
        let definition = resource.element
        var result: [ElementConstraint]
        if let elements = definition.child("snapshot")?.children(named: "element"), !elements.isEmpty {
            result = elements.map(ElementConstraint.init(definition:))
        } else {
            guard let baseURL = definition.value(of: "baseDefinition") else {
                throw ValidationSetupError("\(key) has neither a snapshot nor a base definition")
            }
            let context = packages(of: resource)
            guard let base = repository.structureDefinition(baseURL, preferring: context) else {
                throw ValidationSetupError("\(key): base definition \(baseURL) could not be resolved")
            }
            guard let baseSnapshot = try snapshot(of: base) else { return nil }
            let differential = definition.child("differential")?.children(named: "element").map(DifferentialElement.init) ?? []
            let generator = SnapshotGenerator { (canonical) throws(ValidationSetupError) in
                guard let type = self.repository.structureDefinition(canonical, preferring: context) else { return nil }
                return try self.snapshot(of: type)
            }
            result = try generator.generate(differential: differential, base: baseSnapshot, url: key)
        }
        snapshots.withLock { $0[key] = result }
        return result
    }

    /// The packages a definition resolves its references in: its own and its dependencies.
    func packages(of resource: CanonicalResource) -> Set<String> {
        guard let package = resource.package else { return [] }
        if let hit = closures.withLock({ $0[package] }) { return hit }
        let closure = repository.closure(of: package)
        closures.withLock { $0[package] = closure }
        return closure
    }

    static func key(_ resource: CanonicalResource) -> String {
        resource.version.map { "\(resource.url)|\($0)" } ?? resource.url
    }
}
