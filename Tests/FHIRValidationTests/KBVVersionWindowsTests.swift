import ErxProfiles
import FHIRValidation
import Testing

/// The built-in windows of the KBV prescription versions (`profiles/kbv-versions.json`) are
/// fd-parity.md §8.1's table (API `*_fhir-transition.json`), with KBV 1.0 and 1.1 before it.
struct KBVVersionWindowsTests {
    @Test(arguments: [
        ("2023-06-30", ["1.0"]), ("2023-07-01", ["1.1"]), ("2025-07-15", ["1.1"]), ("2025-09-30", ["1.1"]),
        ("2025-10-01", ["1.1", "1.3"]), ("2026-03-31", ["1.1", "1.3"]), ("2026-04-01", ["1.3"]),
        ("2026-07-01", ["1.3", "1.4"]), ("2027-01-14", ["1.3", "1.4"]), ("2027-01-15", ["1.4"]),
    ])
    func versionsInForce(date: String, versions: [String]) throws {
        #expect(try ErxProfiles.kbvVersions().versions(on: date) == versions)
    }
}
