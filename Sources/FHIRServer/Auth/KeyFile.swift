import Foundation

/// A private key the server keeps in its data directory as PEM: read when present, otherwise made
/// once and written readable by the owner only (mode 0600).
enum KeyFile {
    static func loadOrCreate<Key>(
        named name: String, in directory: URL, parse: (String) throws -> Key, make: () -> Key, pem: (Key) -> String
    ) throws -> Key {
        let file = directory.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: file.path) {
            return try parse(String(contentsOf: file, encoding: .utf8))
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let key = make()
        guard FileManager.default.createFile(atPath: file.path, contents: Data(pem(key).utf8), attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown) }
        return key
    }
}
