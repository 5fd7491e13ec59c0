import ArgumentParser
import FHIRFormats
import FHIRModel
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one FHIR document a command reads: a file, or `-` for standard input, its format told by its
/// content. Shared by `erx convert` and `erx validate`, so both refuse unreadable input alike.
struct CommandInput {
    let bytes: [UInt8]
    let format: FHIRFormat

    /// Why there is no input to work on, as the issue the command reports.
    struct Problem: Error {
        let issue: OperationOutcome.Issue
    }

    /// Reads at most `maxBytes`. A larger regular file (named, or redirected to standard input) is
    /// refused by its size before any byte is read; a pipe is read in pieces and refused as soon as
    /// it passes the limit, so neither is read whole to find out it is too large.
    init(_ input: String, maxBytes: Int) throws(Problem) {
        let unreadable = Problem(issue: OperationOutcome.Issue(code: .notFound, text: "Cannot read input '\(input)'"))
        let descriptor = input == "-" ? STDIN_FILENO : open(input, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw unreadable }
        defer { if descriptor != STDIN_FILENO { close(descriptor) } }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw unreadable }
        var expected = 0
        if status.st_mode & S_IFMT == S_IFREG {
            let position = max(0, Int(lseek(descriptor, 0, SEEK_CUR)))
            expected = max(0, Int(status.st_size) - position)
            guard expected <= maxBytes else { throw Self.tooLarge(input, bytes: expected, maxBytes: maxBytes) }
        }
        var bytes: [UInt8] = []
        // A regular file's size, so reading it grows nothing; a pipe's bytes grow as they come.
        bytes.reserveCapacity(expected)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw unreadable
            }
            if count == 0 { break }
            guard bytes.count + count <= maxBytes else {
                throw Self.tooLarge(input, bytes: nil, maxBytes: maxBytes)
            }
            bytes.append(contentsOf: chunk[..<count])
        }
        guard let format = FHIRFormat.sniff(bytes) else {
            throw Problem(issue: OperationOutcome.Issue(code: .structure, text: "The input is neither FHIR JSON nor FHIR XML"))
        }
        self.bytes = bytes
        self.format = format
    }

    private static func tooLarge(_ input: String, bytes: Int?, maxBytes: Int) -> Problem {
        let size = bytes.map { "\($0) bytes" } ?? "more than \(maxBytes) bytes"
        return Problem(issue: OperationOutcome.Issue(
            code: .tooCostly, text: "Input '\(input)' has \(size); --max-bytes allows \(maxBytes)"))
    }

    /// Decodes the document with limits for a local file: the input and any one value in it may be
    /// as large as `maxBytes` (the server keeps its own, smaller limits).
    func decode(lenient: Bool = false, maxBytes: Int) throws(FHIRFormatError) -> DecodedResource {
        try format.read(bytes, options: DecodingOptions(mode: lenient ? .lenient : .strict, limits: .file(maxBytes: maxBytes)))
    }
}

/// `--max-bytes`, shared by the commands that read one document.
struct InputSizeOptions: ParsableArguments {
    @Option(help: "The largest input accepted, in bytes (a file or standard input).")
    var maxBytes = 1 << 30

    func validate() throws {
        guard maxBytes > 0 else { throw ValidationError("--max-bytes must be positive") }
    }
}

/// Standard output as a sink for the streaming writers: each piece goes straight to the descriptor,
/// with no copy into `Data` and no second buffer.
enum StandardOutput {
    static func write(_ bytes: UnsafeBufferPointer<UInt8>) throws(FHIRFormatError) {
        var offset = 0
        while offset < bytes.count {
            let written = writeDescriptor(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw FHIRFormatError(OperationOutcome.Issue(
                    code: .exception, text: "Cannot write the output: \(String(cString: strerror(errno)))"))
            }
            offset += written
        }
    }

    static func write(_ bytes: [UInt8]) throws(FHIRFormatError) {
        try bytes.withUnsafeBufferPointer { (buffer) throws(FHIRFormatError) in try write(buffer) }
    }
}

/// The system's `write(2)` under another name: inside `StandardOutput` its own `write` hides it.
private func writeDescriptor(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
