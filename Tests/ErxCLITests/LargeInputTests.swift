import ArgumentParser
@testable import erx
import FHIRFormats
import FHIRModel
import Foundation
import StoreTestSupport
import Testing

/// `erx convert` and `erx validate` on documents far above the server's 1 MiB body and the codec's
/// default 16 MiB input limit, up to `--max-bytes`.
struct LargeInputTests {
    /// An ~18 MB XML Bundle, made once per test run: 3,000 copies of the fidelity MedicationDispense
    /// (narrative, contained resource, extensions on primitives, exact decimals) and one Binary whose
    /// base64 `data` (12 MB) is beyond both the default string limit and libxml2's own 10 MB value limit.
    static let bundle: Data = {
        let dispense = try! FHIRJSONReader().read(Array(try! Data(contentsOf: ConvertCommandTests.fixture))).resource
        var entries: [Element] = []
        for index in 0..<3_000 {
            var resource = dispense
            resource.children[0].value = "md-\(index)"
            entries.append(Element(name: "entry", children: [
                Element(name: "fullUrl", value: "https://erx.example/MedicationDispense/md-\(index)"),
                Element(name: "resource", children: [resource]),
            ]))
        }
        let binary = Element(name: "Binary", children: [
            Element(name: "id", value: "large"),
            Element(name: "contentType", value: "application/pdf"),
            Element(name: "data", value: String(repeating: "JVBERi0x", count: 1_500_000)),
        ])
        entries.append(Element(name: "entry", children: [Element(name: "resource", children: [binary])]))
        let bundle = Element(name: "Bundle", children: [
            Element(name: "id", value: "large"), Element(name: "type", value: "collection"),
        ] + entries)
        return Data(try! FHIRXMLWriter().write(bundle))
    }()

    /// Runs `body` in a directory of its own that holds the bundle as `bundle.xml`, and removes it after.
    func inDirectory(withBundle: Bool = true, _ body: (URL) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-large-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        if withBundle { try Self.bundle.write(to: directory.appendingPathComponent("bundle.xml")) }
        try body(directory)
    }

    /// Runs `erx` with stdout to a file (the output is too large for a string comparison to be useful
    /// in a failure message); standard input from `stdin`, written before the process starts.
    func run(_ arguments: [String], stdin: URL? = nil, output: URL) throws -> Int32 {
        // Standard input through a pipe, not the file itself, so the command cannot learn the size in advance.
        let process = try ChildProcess(ConvertCommandTests.binary.path, arguments,
                                       stdin: stdin == nil ? .null : .pipe, stdout: .file(output.path))
        if let stdin, let input = process.input {
            input.write(try Data(contentsOf: stdin))
            input.close()
        }
        return process.wait()
    }

    @Test func anEighteenMegabyteBundleRoundTripsThroughJSON() throws {
        #expect(Self.bundle.count > 18_000_000 && Self.bundle.count > DecodingOptions.Limits().maxInputBytes)
        try inDirectory { (directory) throws in
            let json = directory.appendingPathComponent("bundle.json")
            let xml = directory.appendingPathComponent("bundle-again.xml")
            #expect(try run(["convert", "--to", "json", directory.appendingPathComponent("bundle.xml").path], output: json) == 0)
            #expect(try run(["convert", "--to", "xml", json.path], output: xml) == 0)
            // Our writer made the input, so the round trip must give back the same bytes.
            #expect(try Data(contentsOf: xml) == Self.bundle)
            let tree = try FHIRJSONReader(options: DecodingOptions(limits: .file(maxBytes: 1 << 30)))
                .read(Array(try Data(contentsOf: json))).resource
            #expect(tree.children.count(where: { $0.name == "entry" }) == 3_001)
            #expect(tree.children.last?.descendant("resource", "Binary", "data")?.value?.utf8.count == 12_000_000)
        }
    }

    @Test func standardInputTakesTheLargeDocumentToo() throws {
        try inDirectory { (directory) throws in
            let xml = directory.appendingPathComponent("stdin.xml")
            #expect(try run(["convert", "--to", "xml", "-"], stdin: directory.appendingPathComponent("bundle.xml"), output: xml) == 0)
            #expect(try Data(contentsOf: xml) == Self.bundle)
        }
    }

    @Test func aFileAboveMaxBytesIsRefused() throws {
        let size = Self.bundle.count
        try inDirectory { (directory) throws in
            let output = directory.appendingPathComponent("refused.json")
            for arguments in [["convert", "--to", "json"], ["validate"]] {
                let status = try run(arguments + ["--max-bytes", "\(size - 1)", directory.appendingPathComponent("bundle.xml").path],
                                     output: output)
                #expect(status == 1)
                let text = try String(contentsOf: output, encoding: .utf8)
                #expect(text.contains(#""code": "too-costly""#))
                #expect(text.contains("has \(size) bytes; --max-bytes allows \(size - 1)"))
            }
            #expect(try run(["convert", "--to", "json", "--max-bytes", "0", "-"], output: output) != 0)
        }
    }

    @Test func standardInputAboveMaxBytesIsRefusedWhileReading() throws {
        try inDirectory(withBundle: false) { (directory) throws in
            let small = directory.appendingPathComponent("small.json")
            let long = String(repeating: "a", count: 8_000)
            try Data(#"{"resourceType":"Basic","code":{"text":"\#(long)"}}"#.utf8).write(to: small)
            let output = directory.appendingPathComponent("refused.xml")
            #expect(try run(["convert", "--to", "xml", "--max-bytes", "4000", "-"], stdin: small, output: output) == 1)
            let text = try String(contentsOf: output, encoding: .utf8)
            #expect(text.contains(#""code": "too-costly""#))
            #expect(text.contains("has more than 4000 bytes"))
            #expect(try run(["convert", "--to", "xml", "--max-bytes", "9000", "-"], stdin: small, output: output) == 0)
        }
    }

    /// A sparse 5 GiB file is refused by its size alone: reading it would take minutes.
    @Test func aHugeFileIsRefusedWithoutReadingIt() throws {
        try inDirectory(withBundle: false) { (directory) throws in
            let huge = directory.appendingPathComponent("huge.json")
            _ = FileManager.default.createFile(atPath: huge.path, contents: Data("{".utf8))
            let handle = try FileHandle(forWritingTo: huge)
            try handle.truncate(atOffset: 5 << 30)
            try handle.close()
            let started = ContinuousClock.now
            do {
                _ = try CommandInput(huge.path, maxBytes: try InputSizeOptions.parse([]).maxBytes)
                Issue.record("a 5 GiB file was read")
            } catch let problem as CommandInput.Problem {
                #expect(problem.issue.code == .tooCostly)
                #expect(problem.issue.text == "Input '\(huge.path)' has \(5 << 30) bytes; --max-bytes allows \(1 << 30)")
            }
            #expect(ContinuousClock.now - started < .seconds(2))
        }
    }

    @Test func theDefaultLimitIsOneGibibyteAndTheServersStaysAsItWas() throws {
        #expect(try InputSizeOptions.parse([]).maxBytes == 1 << 30)
        #expect(DecodingOptions.strict.limits.maxInputBytes == 16 << 20)
        #expect(DecodingOptions.strict.limits.maxStringBytes == 4 << 20)
        let file = DecodingOptions.Limits.file(maxBytes: 1 << 30)
        #expect(file.maxInputBytes == 1 << 30 && file.maxStringBytes == 1 << 30 && file.maxDepth == 128)
    }
}
