import FHIRModel
import Synchronization

/// A compiled StructureDefinition: its tree, and what it constrains. A class: the validator hands it
/// along with every element it visits.
public final class CompiledProfile: Sendable {
    public let url: String
    public let version: String?
    /// The resource or type it constrains (`MedicationDispense`, `Extension`, `Identifier`).
    public let type: String
    /// The package it comes from and that package's dependencies: where its references resolve first.
    public let context: ResolutionContext
    public let root: ProfileNode

    init(url: String, version: String?, type: String, context: ResolutionContext, root: ProfileNode) {
        self.url = url
        self.version = version
        self.type = type
        self.context = context
        self.root = root
    }

    /// `url|version`, as `meta.profile` would name exactly this definition.
    public var canonical: String { version.map { "\(url)|\($0)" } ?? url }
}

/// A set of packages in which canonicals resolve first (a package and its dependencies). A class, so that
/// caches can key on its identity instead of hashing the set.
public final class ResolutionContext: Sendable {
    public let packages: Set<String>
    public static let none = ResolutionContext(packages: [])

    init(packages: Set<String>) {
        self.packages = packages
    }
}

/// Snapshots and compiled profiles, made on first use from a ``ProfileRepository`` and kept. Safe to share
/// between concurrent validations: the caches sit behind a mutex held only for lookups and inserts.
public final class CompiledProfiles: Sendable {
    public let repository: ProfileRepository
    private let snapshots = Mutex<[String: [ElementConstraint]]>([:])
    private let compiled = Mutex<[String: CompiledProfile]>([:])
    /// Canonicals that could not be compiled, with the reason, so the work is not repeated.
    private let failures = Mutex<[String: ValidationSetupError]>([:])
    private let contexts = Mutex<[String: ResolutionContext]>([:])
    /// Canonical resolutions per context: the validator asks for the same type profiles for every element.
    private let resolutions = Mutex<[ResolutionKey: CompiledProfile?]>([:])

    /// The most canonical resolutions remembered: every profile of every loaded package under a
    /// few contexts and spellings (with and without `|version`) fits many times over.
    static let maximumResolutions = 20_000

    /// How many resolutions are remembered (for tests).
    public var rememberedResolutions: Int { resolutions.withLock { $0.count } }

    struct ResolutionKey: Hashable {
        let context: ObjectIdentifier
        let canonical: String
    }

    /// The profiles that define the content of an element of a given type under a given node.
    private let typeProfiles = Mutex<[TypeKey: [CompiledProfile]]>([:])

    struct TypeKey: Hashable {
        let node: ObjectIdentifier
        let type: Int
        let context: ObjectIdentifier
    }

    /// The slice tests of a sliced node under a context (see ``ProfileValidator/sliceTests(of:context:)``).
    private let sliceTests = Mutex<[SliceKey: [[ProfileValidator.SliceTest]]]>([:])

    struct SliceKey: Hashable {
        let node: ObjectIdentifier
        let context: ObjectIdentifier
    }

    func cachedSliceTests(_ key: SliceKey) -> [[ProfileValidator.SliceTest]]? {
        sliceTests.withLock { $0[key] }
    }

    func cacheSliceTests(_ key: SliceKey, _ value: [[ProfileValidator.SliceTest]]) {
        sliceTests.withLock { $0[key] = value }
    }

    func cachedTypeProfiles(_ key: TypeKey) -> [CompiledProfile]? {
        typeProfiles.withLock { $0[key] }
    }

    func cacheTypeProfiles(_ key: TypeKey, _ value: [CompiledProfile]) {
        typeProfiles.withLock { $0[key] = value }
    }

    /// Whether invariants with a native check use it (the default), or all run as FHIRPath: tests compare
    /// the two on whole corpora.
    let usesNativeInvariants: Bool

    public init(repository: ProfileRepository) {
        self.repository = repository
        usesNativeInvariants = true
    }

    init(repository: ProfileRepository, usesNativeInvariants: Bool) {
        self.repository = repository
        self.usesNativeInvariants = usesNativeInvariants
    }

    /// The compiled profile for `canonical` (`url` or `url|version`); `nil` when no definition has that URL.
    /// `context`: packages whose versions win (see ``ProfileRepository/resolve(_:type:preferring:)``).
    public func profile(_ canonical: String, in context: ResolutionContext = .none) throws(ValidationSetupError) -> CompiledProfile? {
        let key = ResolutionKey(context: ObjectIdentifier(context), canonical: canonical)
        if let hit = resolutions.withLock({ $0[key] }) { return hit }
        let result = try compile(repository.structureDefinition(canonical, preferring: context.packages))
        // Canonicals come from the input (`meta.profile`): a miss is not remembered, and the table
        // stops growing at a size no set of loaded packages reaches, so no caller can make it grow
        // without bound (found by fuzzing, issue 19). A miss costs a dictionary lookup again.
        guard result != nil else { return nil }
        return resolutions.withLock { resolutions in
            if let existing = resolutions[key] { return existing }
            if resolutions.count < Self.maximumResolutions { resolutions[key] = .some(result) }
            return result
        }
    }

    private func compile(_ resource: CanonicalResource?) throws(ValidationSetupError) -> CompiledProfile? {
        guard let resource else { return nil }
        let key = Self.key(resource)
        if let hit = compiled.withLock({ $0[key] }) { return hit }
        if let failure = failures.withLock({ $0[key] }) { throw failure }
        do throws(ValidationSetupError) {
            guard let snapshot = try snapshot(of: resource), let root = ProfileNode.tree(of: snapshot, usesNativeInvariants: usesNativeInvariants) else {
                throw ValidationSetupError("\(key): no elements")
            }
            let profile = CompiledProfile(url: resource.url, version: resource.version,
                                          type: resource.element.value(of: "type") ?? root.constraint.path,
                                          context: context(of: resource), root: root)
            // Two validations may compile the same profile at once: the first one stored wins, so that every
            // cache (and every node identity the type-profile cache keys on) refers to one object.
            return compiled.withLock { compiled in
                if let existing = compiled[key] { return existing }
                compiled[key] = profile
                return profile
            }
        } catch {
            failures.withLock { $0[key] = error }
            throw error
        }
    }

    /// The snapshot of a definition: its own, or one generated from its differential and its base.
    /// `building`: the definitions whose snapshots are being generated further up, so that a cycle of
    /// bases or type profiles (in a hostile or broken package) is an error rather than endless recursion.
    func snapshot(of resource: CanonicalResource, building: Set<String> = []) throws(ValidationSetupError) -> [ElementConstraint]? {
        let key = Self.key(resource)
        if let hit = snapshots.withLock({ $0[key] }) { return hit }
        guard !building.contains(key) else {
            throw ValidationSetupError("\(key) depends on itself through its base or a type profile")
        }
        let building = building.union([key])
        let definition = resource.element
        var result: [ElementConstraint]
        if let elements = definition.child("snapshot")?.children(named: "element"), !elements.isEmpty {
            result = elements.map(ElementConstraint.init(definition:))
        } else {
            guard let baseURL = definition.value(of: "baseDefinition") else {
                throw ValidationSetupError("\(key) has neither a snapshot nor a base definition")
            }
            let context = context(of: resource).packages
            guard let base = repository.structureDefinition(baseURL, preferring: context) else {
                throw ValidationSetupError("\(key): base definition \(baseURL) could not be resolved")
            }
            guard let baseSnapshot = try snapshot(of: base, building: building) else { return nil }
            let differential = definition.child("differential")?.children(named: "element").map(DifferentialElement.init) ?? []
            let generator = SnapshotGenerator { (canonical) throws(ValidationSetupError) in
                guard let type = self.repository.structureDefinition(canonical, preferring: context) else { return nil }
                return try self.snapshot(of: type, building: building)
            }
            result = try generator.generate(differential: differential, base: baseSnapshot, url: key)
        }
        snapshots.withLock { $0[key] = result }
        return result
    }

    /// The packages a definition resolves its references in: its own and its dependencies.
    func context(of resource: CanonicalResource) -> ResolutionContext {
        resource.package.map(context(ofPackage:)) ?? .none
    }

    /// The context of a package (`name#version`), made once per package.
    public func context(ofPackage package: String) -> ResolutionContext {
        if let hit = contexts.withLock({ $0[package] }) { return hit }
        let context = ResolutionContext(packages: repository.closure(of: package))
        return contexts.withLock { contexts in
            if let existing = contexts[package] { return existing }
            contexts[package] = context
            return context
        }
    }

    static func key(_ resource: CanonicalResource) -> String {
        resource.version.map { "\(resource.url)|\($0)" } ?? resource.url
    }
}
