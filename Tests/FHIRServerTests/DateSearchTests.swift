import Foundation
import Testing
@testable import FHIRServer

/// FHIR date search (https://hl7.org/fhir/R4/search.html#date; A_25515): a value is the range its
/// precision gives it, and each prefix compares ranges.
struct DateSearchTests {
    static func instant(_ text: String) -> Date {
        ISO8601DateFormatter().date(from: text)!
    }

    @Test func precisionMakesTheRange() throws {
        let day = try #require(DateSearch.range(of: "2026-10-01"))
        // The German day: 2026-10-01 00:00 CEST is 2026-09-30T22:00Z.
        #expect(day.lower == Self.instant("2026-09-30T22:00:00Z"))
        #expect(day.upper == Self.instant("2026-10-01T22:00:00Z"))
        let month = try #require(DateSearch.range(of: "2026-02"))
        #expect(month.upper.timeIntervalSince(month.lower) == 28 * 86_400)
        let minute = try #require(DateSearch.range(of: "2026-10-01T10:00+02:00"))
        #expect(minute.lower == Self.instant("2026-10-01T08:00:00Z") && minute.upper.timeIntervalSince(minute.lower) == 60)
        #expect(DateSearch.range(of: "2026-02-30") == nil)
        #expect(DateSearch.range(of: "2026-10-01T10:00") == nil)  // a time needs a zone
        #expect(DateSearch.range(of: "99999-01-01") == nil)
        // Offsets no time zone has are refused, never unwrapped (found in review: -19:00 trapped).
        for zone in ["-19:00", "+18:01", "+14:01", "+01:99", "-99:99"] {
            #expect(DateSearch.range(of: "2025-01-01T10:00\(zone)") == nil, "\(zone)")
            #expect(DateSearch("ge2025-01-01T10:00\(zone)") == nil, "\(zone)")
        }
        #expect(DateSearch.range(of: "2025-01-01T10:00+14:00") != nil && DateSearch.range(of: "2025-01-01T10:00-12:00") != nil)
    }

    @Test(arguments: [
        ("eq2026-10-01", true), ("2026-10-01", true), ("ne2026-10-01", false), ("gt2026-09-30", true), ("gt2026-10-01", false),
        ("lt2026-10-02", true), ("lt2026-10-01", false), ("ge2026-10-01", true), ("le2026-10-01", true), ("le2026-09-30", false),
        ("sa2026-09-30", true), ("sa2026-10-01", false), ("eb2026-10-02", true), ("eb2026-10-01", false),
        ("2026-10", true), ("2026", true), ("2025", false), ("2025-01-01,2026-10-01", true),
        ("ge2026-10-01T12:00:00+02:00", true), ("ge2026-10-01T12:00:00 02:00", true), ("gt2026-10-01T12:00:00Z", false),
    ])
    func anInstantMatches(search: String, matches: Bool) throws {
        let search = try #require(DateSearch(search))
        #expect(search.matches(instant: Self.instant("2026-10-01T10:00:00Z")) == matches)
    }
}
