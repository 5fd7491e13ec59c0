import Foundation
import StoreTestSupport
import Testing

/// `erx convert` run as a process, as users run it.
struct ConvertCommandTests {
    /// The `erx` binary beside the test bundle in the build directory.
    static let binary: URL = {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("erx").path), directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("erx")
    }()

    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/codec/medicationdispense-fidelity.json")

    func run(_ arguments: [String], stdin: Data? = nil) throws -> (status: Int32, output: String) {
        let finished = try ProcessLaunch.finish(Self.binary, arguments, stdin: stdin)
        return (finished.status, String(decoding: finished.output, as: UTF8.self))
    }

    @Test func convertsAFileToXML() throws {
        let result = try run(["convert", "--to", "xml", Self.fixture.path])
        #expect(result.status == 0)
        #expect(result.output.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?><MedicationDispense xmlns=\"http://hl7.org/fhir\">"))
        #expect(result.output.contains("<value value=\"1.50\"/>"))
    }

    @Test func convertsStandardInputBackToJSON() throws {
        let xml = try run(["convert", "--to", "xml", Self.fixture.path]).output
        let result = try run(["convert", "--to", "json", "--pretty", "-"], stdin: Data(xml.utf8))
        #expect(result.status == 0)
        #expect(result.output.contains(#""value": 1.50"#))
    }

    @Test func badInputExitsNonZeroWithAnOperationOutcome() throws {
        let result = try run(["convert", "--to", "xml", "-"], stdin: Data(#"{"resourceType":"Patient","colour":"red"}"#.utf8))
        #expect(result.status == 1)
        #expect(result.output.contains(#""resourceType": "OperationOutcome""#))
        #expect(result.output.contains(#""expression": ["Patient"]"#))
        let garbage = try run(["convert", "--to", "json", "-"], stdin: Data([0xFF, 0x00, 0x12]))
        #expect(garbage.status == 1)
        #expect(garbage.output.contains("OperationOutcome"))
    }

    @Test func lenientModeRepairsInsteadOfFailing() throws {
        let result = try run(["convert", "--to", "json", "--lenient", "-"],
                             stdin: Data(#"{"resourceType":"Patient","colour":"red","gender":"male"}"#.utf8))
        #expect(result.status == 0)
        #expect(result.output == #"{"resourceType":"Patient","gender":"male"}"#)
    }
}
