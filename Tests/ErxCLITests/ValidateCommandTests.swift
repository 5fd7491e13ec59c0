import Foundation
import Testing

/// `erx validate` run as a process: exit status, the OperationOutcome on stdout, the options.
struct ValidateCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/validation")

    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try ConvertCommandTests().run(["validate"] + arguments)
    }

    @Test func validBodyExitsZeroWithAnInformationalOutcome() throws {
        let result = try run([Self.fixtures.appendingPathComponent("valid/dispense-1.6-single.json").path])
        #expect(result.status == 0)
        #expect(result.output.contains(#""resourceType": "OperationOutcome""#))
        #expect(result.output.contains(#""severity": "information""#))
    }

    @Test func brokenBodyExitsOneNamingTheElement() throws {
        let result = try run([Self.fixtures.appendingPathComponent("invalid/md-status-not-completed.json").path])
        #expect(result.status == 1)
        #expect(result.output.contains(#""code": "value""#))
        #expect(result.output.contains("Parameters.parameter[0].part[0].resource.status"))
    }

    @Test func validityWindowsApplyOnlyWithAsOf() throws {
        let body = Self.fixtures.appendingPathComponent("valid/dispense-1.4-single.json").path
        #expect(try run([body]).status == 0)
        let late = try run(["--as-of", "2026-11-23", body])
        #expect(late.status == 1)
        #expect(late.output.contains("version 1.4 is not in force"))
        #expect(try run(["--as-of", "2025-06-30", body]).status == 0)
    }

    @Test func explicitProfileAndXMLOutput() throws {
        let body = Self.fixtures.appendingPathComponent("valid/medicationdispense-diga-1.6.json").path
        let result = try run(["--profile", "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_MedicationDispense|1.6",
                              "--format", "xml", body])
        #expect(result.status == 1, "a DiGA dispense is not a GEM_ERP_PR_MedicationDispense")
        #expect(result.output.contains("<OperationOutcome xmlns=\"http://hl7.org/fhir\">"))
    }

    @Test func badDateIsAUsageError() throws {
        let body = Self.fixtures.appendingPathComponent("valid/dispense-1.6-single.json").path
        #expect(try run(["--as-of", "23.11.2026", body]).status != 0)
    }
}
