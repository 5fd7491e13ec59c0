public import Crypto
public import Foundation

/// The secrets the VSDM operators share with the FD (IBM `VsdmKeyCache`): one per operator and
/// key version. A check digit (PZ) names the key it was made with; the FD can verify a PZ only with
/// that key (A_23456-01, A_27279). The keys are secrets: nothing here prints or logs them.
public struct VSDMKeySet: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Printed (or dumped into a log by accident) without the secrets.
    public var description: String { "VSDMKeySet(\(keys.map { "\($0.operatorID)\($0.version)" }.joined(separator: ", ")))" }
    public var debugDescription: String { description }

    public struct Key: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
        public var description: String { "VSDMKey(operator \(operatorID), version \(version), secret redacted)" }
        public var debugDescription: String { description }

        /// The operator's id (`betreiberkennung`), `A`…`Z`.
        public var operatorID: Character
        /// The key's version, `0`…`3`: an operator rotates its key by issuing a new version, and
        /// PZs made under the previous one stay verifiable while the FD holds both.
        public var version: Character
        /// The shared secret: the HMAC key of v1 PZs, the HKDF input of v2 PZs.
        public var secret: SymmetricKey

        public init(operatorID: Character, version: Character, secret: SymmetricKey) {
            self.operatorID = operatorID
            self.version = version
            self.secret = secret
        }
    }

    public private(set) var keys: [Key]

    public init(_ keys: [Key] = []) {
        self.keys = keys
    }

    public func key(operatorID: Character, version: Character) -> SymmetricKey? {
        keys.first { $0.operatorID == operatorID && $0.version == version }?.secret
    }

    /// Why a key file was refused (never quoting a key).
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The file format of `--vsdm-keys` (IBM's enrolment format): a JSON array of
    /// `{"betreiberkennung": "A", "version": "1", "cleartext_key": "<base64 of 32 bytes>"}`.
    struct Entry: Codable {
        var betreiberkennung: String
        var version: String
        var cleartext_key: String
    }

    public init(json: Data) throws(Invalid) {
        let entries: [Entry]
        do {
            entries = try JSONDecoder().decode([Entry].self, from: json)
        } catch {
            throw Invalid(description: "the VSDM key file is not a JSON array of {betreiberkennung, version, cleartext_key}")
        }
        var keys: [Key] = []
        for (index, entry) in entries.enumerated() {
            guard entry.betreiberkennung.count == 1, let id = entry.betreiberkennung.first, ("A"..."Z").contains(id) else {
                throw Invalid(description: "VSDM key \(index): betreiberkennung must be one letter A…Z")
            }
            guard entry.version.count == 1, let version = entry.version.first, ("0"..."3").contains(version) else {
                throw Invalid(description: "VSDM key \(index): version must be 0…3")
            }
            guard let secret = Data(base64Encoded: entry.cleartext_key), secret.count == 32 else {
                throw Invalid(description: "VSDM key \(index): cleartext_key must be the base64 of 32 bytes")
            }
            guard !keys.contains(where: { $0.operatorID == id && $0.version == version }) else {
                throw Invalid(description: "VSDM key \(index): operator \(id) version \(version) is given twice")
            }
            keys.append(Key(operatorID: id, version: version, secret: SymmetricKey(data: secret)))
        }
        self.init(keys)
    }

    public static func load(file: URL) throws -> VSDMKeySet {
        try VSDMKeySet(json: Data(contentsOf: file))
    }

    /// A key file with one fresh random key (`erx dev-pki`).
    public static func randomFile(operatorID: Character = "A", version: Character = "1") -> Data {
        let secret = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let entry = Entry(betreiberkennung: String(operatorID), version: String(version), cleartext_key: secret.base64EncodedString())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode([entry])) ?? Data("[]".utf8)
    }
}

extension VSDMKeySet {
    /// The key file `erx dev-pki` writes and `erx egk-proof` reads.
    public static let developmentFile = "vsdm-keys.json"

    /// The development key set in `directory` (one random key of operator `A`, version `1`), made
    /// there on first use, readable by the owner only, never replaced.
    public static func loadOrCreateDevelopment(in directory: URL) throws -> (keys: VSDMKeySet, file: URL, created: Bool) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent(developmentFile)
        let created = try ExclusiveFile.create(file, contents: randomFile(), mode: 0o600)
        return (try load(file: file), file, created)
    }
}
