import Dispensing
import Foundation
import Testing
@testable import FHIRServer

/// The day ranges a date search hands the store (the pharmacy's history, issue 24) match exactly
/// the days ``DateSearch/matches(date:)`` matches (A_25515), for every prefix and precision,
/// across the changes of German summer time.
struct DateSearchDaysTests {
    static let days: [String] = (0..<80).compactMap { CalendarDate.adding(days: $0, to: "2026-03-01") }
        + (0..<40).compactMap { CalendarDate.adding(days: $0, to: "2026-10-10") }

    @Test(arguments: DateSearch.Prefix.allCases)
    func theStoresDaysAreTheSearchsDays(prefix: DateSearch.Prefix) throws {
        let values = ["2026-03-29", "2026-03", "2026", "2026-10-25", "2026-03-29T01:30:00+01:00", "2026-03-29T00:00:00+01:00",
                      "2026-10-25T22:59:59Z", "2026-10-24T22:00:00Z", "2026-04-01T12:00", "2026-04-02T00:00:00.5+02:00"]
        for value in values {
            guard let search = DateSearch(prefix.rawValue + value) else {
                #expect(value == "2026-04-01T12:00", "\(value) should parse")  // a time without a zone is no dateTime
                continue
            }
            let ranges = search.dayRanges
            for day in Self.days {
                #expect(ranges.contains { $0.contains(day) } == search.matches(date: day), "\(prefix)\(value) on \(day)")
            }
        }
    }
}
