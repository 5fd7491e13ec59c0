import Foundation

/// A private key the server keeps in its data directory as PEM: read when present, otherwise made
/// once and written readable by the owner only (mode 0600).
enum KeyFile {
    static func loadOrCreate<Key>(
        named name: String, in directory: URL, parse: (String) throws -> Key, make: () throws -> Key, pem: (Key) -> String
    ) throws -> Key {
        let file = directory.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: file.path) {
            return try parse(String(contentsOf: file, encoding: .utf8))
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let key = try make()
        // Several instances share one data directory (issue 21) and may start at once: the key is
        // written whole to a file of its own, then linked to its name, which fails if another
        // instance got there first; then that one's key is everyone's. (Writing the name directly
        // let a second instance overwrite the key the first was already signing with.)
        let draft = directory.appendingPathComponent(".\(name).\(ProcessInfo.processInfo.processIdentifier).\(UInt32.random(in: 0...UInt32.max))")
        try writeNew(draft, contents: Data(pem(key).utf8), mode: 0o600)
        defer { unlink(draft.path) }
        guard link(draft.path, file.path) == 0 else {
            guard errno == EEXIST else { throw CocoaError(.fileWriteUnknown) }
            return try parse(String(contentsOf: file, encoding: .utf8))
        }
        return key
    }

    /// Creates `url` (which must not exist) with `mode` from its first byte on — Foundation's
    /// `createFile(…attributes:)` applies the mode only after writing, so a key would be readable
    /// under the umask for a moment — and writes `contents` whole.
    static func writeNew(_ url: URL, contents: Data, mode: Int) throws {
        let descriptor = open(url.path, O_CREAT | O_EXCL | O_WRONLY, mode_t(mode))
        guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown) }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: contents)
            try handle.close()
        } catch {
            unlink(url.path)
            throw error
        }
    }
}
