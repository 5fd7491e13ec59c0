import ErxProfiles
public import FHIRModel
public import FHIRValidation
public import Foundation

/// The medication service's profile check of an operation's input (`erx registry-sim --profiles`):
/// a body that does not conform to the operation's input Parameters profile is refused with 400
/// before anything is applied, so the relay's payloads are held to the official ePA profiles over
/// real HTTP, not only to the shape the simulator needs.
///
/// Built once per simulator: loading the packages and compiling the four profiles (and the resource
/// profiles they name) is the slow part, done at start-up; ``ProfileValidator`` keeps the compiled
/// profiles, so each request only walks its body.
public struct PayloadValidation: Sendable {
    /// What a payload of one operation is validated against.
    struct Check: Sendable {
        var profile: String
        /// The official profile from the loaded packages (else the stand-in of ``OperationInput``).
        var official: Bool
        /// Part profiles the loaded packages lack (their parts are checked against the base type only).
        var missing: [String]
    }

    let validator: ProfileValidator
    let checks: [TransferOperation: Check]

    /// Loads the R4 core definitions and then each of `profileDirectories`: a package directory
    /// (with `package.json`), or a directory whose subdirectories are packages (such as a whole
    /// `definitions/` folder), each loaded as its own package so its references resolve within its
    /// dependencies.
    public init(profileDirectories: [URL]) throws {
        var repository = ProfileRepository()
        try repository.load(directory: ErxProfiles.coreDirectory, precedence: ErxProfiles.Precedence.core)
        for directory in profileDirectories {
            for package in try Self.packages(in: directory) {
                try repository.load(directory: package, precedence: ErxProfiles.Precedence.official)
            }
        }
        try self.init(repository: repository)
    }

    init(repository: ProfileRepository) throws {
        var repository = repository
        var checks: [TransferOperation: Check] = [:]
        for operation in TransferOperation.allCases {
            let input = OperationInput.of(operation)
            let official = repository.structureDefinition(input.profileURL) != nil
            let missing = input.partProfiles.filter { repository.structureDefinition($0) == nil }
            if !official {
                let available = repository
                repository.add(try input.standIn { available.structureDefinition($0) != nil }, source: "erx stand-in (fd-parity §9.1)",
                               precedence: ErxProfiles.Precedence.core - 1)
            }
            checks[operation] = Check(profile: input.profileURL, official: official, missing: official ? [] : missing)
        }
        let profiles = CompiledProfiles(repository: repository)
        // Compiled now, so a definition that cannot be used stops the start rather than every request.
        for check in checks.values {
            let compiled: CompiledProfile?
            do {
                compiled = try profiles.profile(check.profile)
            } catch {
                throw SetupError("\(check.profile) cannot be used: \(error.description)")
            }
            guard compiled != nil else { throw SetupError("\(check.profile) cannot be resolved") }
        }
        validator = ProfileValidator(profiles: profiles)
        self.checks = checks
    }

    /// One line per operation: what its payloads are checked against, for the start-up log.
    public var coverage: [String] {
        TransferOperation.allCases.map { operation in
            let check = checks[operation]!
            var line = "$\(operation.rawValue): " + (check.official ? "official input profile" : "stand-in input profile (official one not loaded)")
            if !check.missing.isEmpty {
                line += "; not loaded, checked as the base type: " + check.missing.map { $0.split(separator: "/").last.map(String.init) ?? $0 }
                    .joined(separator: ", ")
            }
            return line
        }
    }

    /// The error-severity issues of `resource` as input of `operation`; empty when it conforms.
    func errors(in resource: Element, as operation: TransferOperation) -> [OperationOutcome.Issue] {
        guard let check = checks[operation] else { return [] }
        return validator.validate(resource, profile: check.profile).issues.filter { $0.severity == .error || $0.severity == .fatal }
    }

    /// The error-severity issues of `resource` as input of the operation named `operation`
    /// (`provide-dispensation-erp`, …), or `nil` for a name that is none of the four: what the
    /// simulator would refuse, for a test to show in full.
    public func errors(in resource: Element, operation: String) -> [OperationOutcome.Issue]? {
        TransferOperation(rawValue: operation).map { errors(in: resource, as: $0) }
    }

    /// The canonical a payload of `operation` is checked against.
    func profile(of operation: TransferOperation) -> String {
        checks[operation]?.profile ?? OperationInput.of(operation).profileURL
    }

    /// The package directories at `directory`: itself when it has a `package.json` or files of its
    /// own, else each of its subdirectories (a folder of packages).
    static func packages(in directory: URL) throws -> [URL] {
        let files = FileManager.default
        func isDirectory(_ url: URL) -> Bool {
            var flag: ObjCBool = false
            return files.fileExists(atPath: url.path, isDirectory: &flag) && flag.boolValue
        }
        guard isDirectory(directory) else { throw SetupError("\(directory.path) is not a directory") }
        if files.fileExists(atPath: directory.appendingPathComponent("package.json").path) { return [directory] }
        let children = try files.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles])
        let subdirectories = children.filter(isDirectory)
        guard !subdirectories.isEmpty, subdirectories.count == children.count else { return [directory] }
        return subdirectories.sorted { $0.path < $1.path }
    }

    /// Why the profiles cannot be used.
    public struct SetupError: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }
}
