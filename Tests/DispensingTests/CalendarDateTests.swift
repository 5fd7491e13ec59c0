import Dispensing
import Foundation
import Testing

/// Plain dates in the Europe/Berlin time zone.
struct CalendarDateTests {
    static func instant(_ text: String) -> Date {
        try! Date(text, strategy: .iso8601)
    }

    @Test(arguments: [
        ("2025-03-01T22:59:59Z", "2025-03-01"),  // 23:59:59 CET
        ("2025-03-01T23:00:00Z", "2025-03-02"),  // midnight CET
        ("2025-03-01T23:30:00Z", "2025-03-02"),
        ("2025-06-30T21:59:59Z", "2025-06-30"),  // 23:59:59 CEST
        ("2025-06-30T22:30:00Z", "2025-07-01"),
        ("2025-12-31T23:00:00Z", "2026-01-01"),  // new year in Berlin first
        ("2025-03-30T00:59:59Z", "2025-03-30"),  // the DST switch day
        ("0999-06-01T12:00:00Z", "0999-06-01"),  // padded year
    ])
    func dayOfAnInstantIsTheBerlinDate(_ instant: String, _ day: String) {
        #expect(CalendarDate.day(of: Self.instant(instant)) == day)
    }

    @Test func datePartTakesTheFirstTenCharacters() {
        #expect(CalendarDate.datePart(of: "2025-03-02T10:00:00+01:00") == "2025-03-02")
        #expect(CalendarDate.datePart(of: "2025-03-02T23:30:00Z") == "2025-03-02")
        #expect(CalendarDate.datePart(of: "2025-03-02") == "2025-03-02")
        #expect(CalendarDate.datePart(of: "2025-03") == nil)
        #expect(CalendarDate.datePart(of: "2025") == nil)
        #expect(CalendarDate.datePart(of: "20250302XX") == nil)
        #expect(CalendarDate.datePart(of: "") == nil)
    }

    @Test(arguments: [
        ("2025-01-31", 1, "2025-02-28"),  // clamps to the month end
        ("2024-01-31", 1, "2024-02-29"),  // leap year
        ("2025-03-31", 3, "2025-06-30"),
        ("2025-11-30", 3, "2026-02-28"),
        ("2025-03-01", 3, "2025-06-01"),
        ("2025-12-15", 1, "2026-01-15"),
    ])
    func addsMonths(_ start: String, _ months: Int, _ expected: String) {
        #expect(CalendarDate.adding(months: months, to: start) == expected)
    }

    @Test(arguments: [
        ("2025-03-01", 28, "2025-03-29"),
        ("2025-03-20", 28, "2025-04-17"),  // across the switch to summer time
        ("2025-10-20", 28, "2025-11-17"),  // across the switch back
        ("2025-02-01", 28, "2025-03-01"),
        ("2024-02-01", 28, "2024-02-29"),
        ("2025-12-20", 28, "2026-01-17"),
        ("2025-03-10", 0, "2025-03-10"),
    ])
    func addsDays(_ start: String, _ days: Int, _ expected: String) {
        #expect(CalendarDate.adding(days: days, to: start) == expected)
    }

    @Test func refusesWhatIsNotADate() {
        #expect(CalendarDate.adding(days: 1, to: "2025-03") == nil)
        #expect(CalendarDate.adding(days: 1, to: "not-a-date") == nil)
        #expect(CalendarDate.adding(months: 1, to: "") == nil)
    }
}
