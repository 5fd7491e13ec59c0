public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, for tests that run `erx`, `openssl` or the
/// PostgreSQL scripts.
///
/// Not Foundation's `Process`: on Linux its `run()` lists `/proc/self/fd` to close every inherited
/// descriptor and copies each directory entry as a whole 256-byte name, which reads past the
/// directory buffer when the test process has many descriptors open — a full CI run died of it
/// inside `memcpy`. Its `FileHandle.availableData` also traps on `EINTR`. Here every descriptor of
/// ours is close-on-exec, the child closes everything above 2 itself
/// (`posix_spawn_file_actions_addclosefrom_np`, glibc 2.34), and reads and waits retry `EINTR`.
public final class ChildProcess: @unchecked Sendable {
    /// Where one of the child's standard streams goes.
    public enum Stream: Sendable {
        /// `/dev/null`.
        case null
        /// A pipe whose other end the test holds (`input`, `output`, `error`).
        case pipe
        /// A file, opened for reading (stdin) or truncated for writing (stdout, stderr).
        case file(String)
    }

    public let pid: pid_t
    /// The write end of the child's stdin when it is a pipe.
    public let input: Descriptor?
    /// The read end of the child's stdout when it is a pipe.
    public let output: Descriptor?
    /// The read end of the child's stderr when it is a pipe.
    public let error: Descriptor?
    private let state = NSLock()
    private var exitStatus: Int32?

    /// Starts `executable` (a path; no PATH search) with `arguments`; `environment` replaces the
    /// test process's own when given.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                stdin: Stream = .null, stdout: Stream = .null, stderr: Stream = .null) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var childEnds: [Descriptor] = []
        defer { childEnds.forEach { $0.close() } }
        var ours: [Descriptor?] = []
        for (target, stream) in [(STDIN_FILENO, stdin), (STDOUT_FILENO, stdout), (STDERR_FILENO, stderr)] {
            let reading = target == STDIN_FILENO
            switch stream {
            case .null:
                let fd = try Descriptor.open("/dev/null", flags: O_RDWR)
                childEnds.append(fd)
                posix_spawn_file_actions_adddup2(&actions, fd.raw, target)
                ours.append(nil)
            case .file(let path):
                let fd = try Descriptor.open(path, flags: reading ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC)
                childEnds.append(fd)
                posix_spawn_file_actions_adddup2(&actions, fd.raw, target)
                ours.append(nil)
            case .pipe:
                let (readEnd, writeEnd) = try Descriptor.pipe()
                childEnds.append(reading ? readEnd : writeEnd)
                posix_spawn_file_actions_adddup2(&actions, (reading ? readEnd : writeEnd).raw, target)
                ours.append(reading ? writeEnd : readEnd)
            }
        }
        guard let closeFrom = Self.closeFrom else { throw SpawnFailure(detail: "glibc lacks posix_spawn_file_actions_addclosefrom_np") }
        _ = closeFrom(&actions, 3)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let variables = environment ?? ProcessInfo.processInfo.environment
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        // The child starts with SIGPIPE's default action even though this process ignores it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
        Self.ignoreBrokenPipes
        var pid = pid_t()
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            ours.forEach { $0?.close() }
            throw SpawnFailure(detail: "posix_spawn \(executable): \(String(cString: strerror(result)))")
        }
        self.pid = pid
        (input, output, error) = (ours[0], ours[1], ours[2])
    }

    deinit {
        if isRunning { kill(pid, SIGKILL) }
        _ = wait()
        [input, output, error].forEach { $0?.close() }
    }

    /// Waits for the child to end: its exit status, or 128 + the signal that ended it.
    @discardableResult
    public func wait() -> Int32 {
        state.lock()
        defer { state.unlock() }
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let ended = Self.decode(status)
        exitStatus = ended
        return ended
    }

    /// Whether the child still runs (reaping it if it has ended).
    public var isRunning: Bool {
        state.lock()
        defer { state.unlock() }
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return true }
        exitStatus = Self.decode(status)
        return false
    }

    public func signal(_ number: Int32) {
        if isRunning { kill(pid, number) }
    }

    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// A child that exits before reading all of its input must not kill the test process with
    /// SIGPIPE; the write then fails with `EPIPE` instead.
    private static let ignoreBrokenPipes: Void = { _ = Glibc.signal(SIGPIPE, SIG_IGN) }()

    /// Looked up at run time: Swift's Glibc module does not import the `_np` declarations.
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let closeFrom: CloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    public struct SpawnFailure: Error, CustomStringConvertible {
        public let detail: String
        public var description: String { detail }
    }
}

/// One open file descriptor, close-on-exec, with reads and writes that retry `EINTR`.
public final class Descriptor: @unchecked Sendable {
    public let raw: Int32
    private let state = NSLock()
    private var open = true

    init(_ raw: Int32) { self.raw = raw }

    deinit { close() }

    static func open(_ path: String, flags: Int32) throws -> Descriptor {
        let fd = Glibc.open(path, flags | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ChildProcess.SpawnFailure(detail: "open \(path): \(String(cString: strerror(errno)))") }
        return Descriptor(fd)
    }

    /// A pipe, both ends close-on-exec: (read end, write end). Set after `pipe()` (Swift's Glibc has
    /// no `pipe2`); a child spawned in between still closes them, by `addclosefrom`.
    static func pipe() throws -> (Descriptor, Descriptor) {
        var ends: [Int32] = [0, 0]
        guard Glibc.pipe(&ends) == 0 else { throw ChildProcess.SpawnFailure(detail: "pipe: \(String(cString: strerror(errno)))") }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return (Descriptor(ends[0]), Descriptor(ends[1]))
    }

    public func close() {
        state.lock()
        defer { state.unlock() }
        if open { _ = Glibc.close(raw) }
        open = false
    }

    /// Up to `count` bytes; empty at the end of the stream.
    public func read(upTo count: Int = 65_536) -> Data {
        var buffer = [UInt8](repeating: 0, count: count)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(raw, $0.baseAddress, count) }
            if n >= 0 { return Data(buffer[0..<n]) }
            if errno != EINTR { return Data() }
        }
    }

    /// Everything until the writer closes its end.
    public func readToEnd() -> Data {
        var all = Data()
        while true {
            let chunk = read()
            if chunk.isEmpty { return all }
            all.append(chunk)
        }
    }

    /// Writes all of `data`; a reader that has gone (`EPIPE`) ends the write early.
    public func write(_ data: Data) {
        var rest = data[...]
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { Glibc.write(raw, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            rest = rest.dropFirst(n)
        }
    }
}
