import FHIRFormats
import FHIRModel
import FHIRValidation
import Foundation
import Testing

/// Which workflow profile versions are in force on a date, and the issues for a body in another one.
struct ProfileVersionWindowsTests {
    static let windows = try! ProfileVersionWindows(json: Data("""
        {"windows":[{"version":"1.4","from":null,"until":"2026-01-11"},
                    {"version":"1.5","from":"2025-10-01","until":"2026-09-30"},
                    {"version":"1.6","from":"2026-07-01","until":null}]}
        """.utf8))

    @Test func versionsOnBoundaryDays() {
        #expect(Self.windows.versions(on: "2025-09-30") == ["1.4"])
        #expect(Self.windows.versions(on: "2025-10-01") == ["1.4", "1.5"])
        #expect(Self.windows.versions(on: "2026-01-12") == ["1.5"])
        #expect(Self.windows.versions(on: "2026-07-01T10:00:00+02:00") == ["1.5", "1.6"])
        #expect(Self.windows.versions(on: "2026-10-01") == ["1.6"])
    }

    @Test(arguments: [
        ("https://x/StructureDefinition/P|1.6.1", "1.6"), ("https://x/StructureDefinition/P|1.6", "1.6"),
        ("https://x/StructureDefinition/P|1", "1"), ("https://x/StructureDefinition/P|", ""),
        ("https://x/StructureDefinition/P|1.10.2.3", "1.10"), ("https://x/StructureDefinition/P|1..6", "1.6"),
        ("https://x/StructureDefinition/P|.1.6", "1.6"), ("https://x/StructureDefinition/P|1.", "1"),
        ("https://x/StructureDefinition/P|1.6.", "1.6"), ("https://x/StructureDefinition/P|.", ""),
    ])
    func majorMinorOfACanonical(canonical: String, expected: String) {
        #expect(ProfileVersionWindows.majorMinor(ofCanonical: canonical) == expected)
        // The general reading it replaces on the hot path.
        let general = canonical.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false).last
            .map { $0.split(separator: ".").prefix(2).joined(separator: ".") }
        #expect(ProfileVersionWindows.majorMinor(ofCanonical: canonical) == general)
    }

    @Test func aCanonicalWithoutVersionHasNoMajorMinor() {
        #expect(ProfileVersionWindows.majorMinor(ofCanonical: "https://x/StructureDefinition/P") == nil)
    }

    @Test func nestedProfilesAreCheckedWithTheirExpression() throws {
        let body = try FHIRJSONReader().read(Array("""
            {"resourceType":"Parameters","meta":{"profile":["https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_PAR_DispenseOperation_Input|1.4"]},
             "parameter":[{"name":"rxDispensation","part":[{"name":"medicationDispense","resource":{"resourceType":"MedicationDispense",
               "meta":{"profile":["https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_MedicationDispense|1.4"]},
               "status":"completed","whenHandedOver":"2026-02-01"}}]}]}
            """.utf8)).resource
        #expect(ProfileVersionWindows.latestHandover(in: body) == "2026-02-01")
        let issues = Self.windows.check(body, on: "2026-02-01")
        #expect(issues.map(\.expression) == [["Parameters.meta.profile[0]"], ["Parameters.parameter[0].part[0].resource.meta.profile[0]"]])
        #expect(issues.allSatisfy { $0.severity == .error && $0.code == .invalid })
        #expect(Self.windows.check(body, on: "2025-12-01").isEmpty)
    }
}
