import Dispensing
import Foundation

extension DateSearch {
    /// The German days (`YYYY-MM-DD`) this search matches, as ranges the store compares a stored
    /// day with: a day matches exactly when ``matches(date:)`` says so. Each condition's range
    /// `[lower, upper)` against a day `[start, end)`:
    /// - the days inside it run from the first day starting at or after `lower` to the day
    ///   before the one holding `upper`;
    /// - `gt` (`end > upper`) from the day holding `upper` on; `lt` (`start < lower`) up to the
    ///   day before the first starting at or after `lower`; `ge`/`le` add the days inside;
    /// - `sa` (`start >= upper`) from the first day starting at or after `upper`; `eb`
    ///   (`end <= lower`) up to the day before the one holding `lower`; `ne` is all but inside.
    var dayRanges: [DayRange] {
        conditions.flatMap { condition -> [DayRange] in
            let inside = DayRange(from: Self.firstDay(startingAtOrAfter: condition.lower), through: Self.dayBefore(holding: condition.upper))
            switch condition.prefix {
            case .eq: return [inside]
            case .ne: return [DayRange(from: nil, through: Self.previous(inside.from)), DayRange(from: Self.day(holding: condition.upper), through: nil)]
            case .gt: return [DayRange(from: Self.day(holding: condition.upper), through: nil)]
            case .lt: return [DayRange(from: nil, through: Self.previous(inside.from))]
            case .ge: return [inside, DayRange(from: Self.day(holding: condition.upper), through: nil)]
            case .le: return [DayRange(from: nil, through: Self.previous(inside.from)), inside]
            case .sa: return [DayRange(from: Self.firstDay(startingAtOrAfter: condition.upper), through: nil)]
            case .eb: return [DayRange(from: nil, through: Self.dayBefore(holding: condition.lower))]
            }
        }
    }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = germanTime
        return calendar
    }()

    private static func day(holding instant: Date) -> String { CalendarDate.day(of: instant) }

    private static func firstDay(startingAtOrAfter instant: Date) -> String {
        let day = day(holding: instant)
        return calendar.startOfDay(for: instant) == instant ? day : (CalendarDate.adding(days: 1, to: day) ?? day)
    }

    private static func dayBefore(holding instant: Date) -> String {
        previous(day(holding: instant))
    }

    /// The day before; `0000-00-00` (before every day) when there is none.
    private static func previous(_ day: String?) -> String {
        day.flatMap { CalendarDate.adding(days: -1, to: $0) } ?? "0000-00-00"
    }
}
