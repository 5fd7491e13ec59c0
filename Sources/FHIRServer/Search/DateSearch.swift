import Foundation
import Hummingbird

/// A FHIR date search value (`ge2025-01-01`, `lt2025-03-01T10:00`, comma lists for OR) against an
/// instant or a date of a resource (https://hl7.org/fhir/R4/search.html#date; A_25515).
///
/// The value's precision makes it a range: `2025-01` is all of January. A date without a time
/// zone is read in German time, as the production service reads the dates insurants search by.
struct DateSearch: Sendable, Hashable {
    enum Prefix: String, Sendable, CaseIterable {
        case eq, ne, gt, lt, ge, le, sa, eb
    }

    /// One comma-separated alternative.
    struct Condition: Sendable, Hashable {
        var prefix: Prefix
        /// The value's range, `[lower, upper)`.
        var lower: Date
        var upper: Date
    }

    /// The alternatives of one occurrence (OR); several occurrences of a parameter are ANDed.
    var conditions: [Condition]

    static let germanTime = TimeZone(identifier: "Europe/Berlin") ?? TimeZone(secondsFromGMT: 3600)!

    /// `nil` when the text is no FHIR date, dateTime or instant with an optional prefix.
    init?(_ text: String) {
        var conditions: [Condition] = []
        // A `+` of a time zone sent unencoded arrives as a space (form encoding); a date has none.
        for part in text.replacingOccurrences(of: " ", with: "+").split(separator: ",", omittingEmptySubsequences: false) {
            var value = Substring(part)
            var prefix = Prefix.eq
            if value.count > 2, let known = Prefix(rawValue: String(value.prefix(2))) {
                prefix = known
                value = value.dropFirst(2)
            }
            guard let range = Self.range(of: String(value)) else { return nil }
            conditions.append(Condition(prefix: prefix, lower: range.lower, upper: range.upper))
        }
        guard !conditions.isEmpty else { return nil }
        self.conditions = conditions
    }

    /// Every occurrence of the date parameter `name` (ANDed); a value that is no date is a 400 naming it.
    static func all(_ name: String, in request: Request) throws(RequestError) -> [DateSearch] {
        var searches: [DateSearch] = []
        for text in request.uri.queryParameters.getAll(name).map({ String($0) }) {
            guard let search = DateSearch(text) else { throw .invalidSearchParameter(name: name) }
            searches.append(search)
        }
        return searches
    }

    /// Whether a target range `[lower, upper)` matches any alternative.
    func matches(lower: Date, upper: Date) -> Bool {
        conditions.contains { condition in
            let contained = condition.lower <= lower && upper <= condition.upper
            switch condition.prefix {
            case .eq: return contained
            case .ne: return !contained
            case .gt: return upper > condition.upper
            case .lt: return lower < condition.lower
            case .ge: return upper > condition.upper || contained
            case .le: return lower < condition.lower || contained
            case .sa: return lower >= condition.upper
            case .eb: return upper <= condition.lower
            }
        }
    }

    /// An instant is a range of one millisecond (the precision erx stores).
    func matches(instant: Date) -> Bool {
        matches(lower: instant, upper: instant.addingTimeInterval(0.001))
    }

    /// A FHIR date or dateTime of a resource, as the range its precision gives it.
    func matches(value: String) -> Bool {
        matches(date: value)
    }

    /// A FHIR date (`YYYY-MM-DD`) is the German day.
    func matches(date: String) -> Bool {
        guard let range = Self.range(of: date) else { return false }
        return matches(lower: range.lower, upper: range.upper)
    }

    /// The range a value stands for, by its precision: year, month, day, minute, second (with
    /// fractions). `nil` for anything else.
    static func range(of text: String) -> (lower: Date, upper: Date)? {
        let pattern = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/
        guard let match = text.wholeMatch(of: pattern) else { return nil }
        guard let year = Int(match.1), (1...9999).contains(year) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = germanTime
        if let zone = match.8 {
            // An offset beyond ±14:00 (or with minutes beyond 59) is no time zone; Foundation has
            // none for it either, so it is refused here rather than unwrapped.
            guard let seconds = offsetSeconds(String(zone)), let timeZone = TimeZone(secondsFromGMT: seconds) else { return nil }
            calendar.timeZone = timeZone
        } else if match.4 != nil {
            // A time without a zone is not a valid FHIR dateTime.
            return nil
        }
        var components = DateComponents(year: year, month: match.2.flatMap { Int($0) } ?? 1, day: match.3.flatMap { Int($0) } ?? 1)
        components.hour = match.4.flatMap { Int($0) } ?? 0
        components.minute = match.5.flatMap { Int($0) } ?? 0
        components.second = match.6.flatMap { Int($0) } ?? 0
        guard (1...12).contains(components.month!), (1...31).contains(components.day!), components.hour! < 24,
              components.minute! < 60, components.second! < 60,
              let start = calendar.date(from: components),
              calendar.component(.day, from: start) == components.day  // no 31 February
        else { return nil }
        let fraction = match.7.flatMap { Double("0" + $0) } ?? 0
        let lower = start.addingTimeInterval(fraction)
        let upper: Date?
        if match.7 != nil {
            upper = lower.addingTimeInterval(0.001)
        } else if match.6 != nil {
            upper = calendar.date(byAdding: .second, value: 1, to: start)
        } else if match.5 != nil {
            upper = calendar.date(byAdding: .minute, value: 1, to: start)
        } else if match.3 != nil {
            upper = calendar.date(byAdding: .day, value: 1, to: start)
        } else if match.2 != nil {
            upper = calendar.date(byAdding: .month, value: 1, to: start)
        } else {
            upper = calendar.date(byAdding: .year, value: 1, to: start)
        }
        return upper.map { (lower, $0) }
    }

    /// `Z`, or `±hh:mm` within ±14:00 (the widest offset in use); `nil` for anything else.
    private static func offsetSeconds(_ zone: String) -> Int? {
        if zone == "Z" { return 0 }
        let sign = zone.hasPrefix("-") ? -1 : 1
        let parts = zone.dropFirst().split(separator: ":").compactMap { Int($0) }
        guard parts.count == 2, parts[1] < 60, parts[0] * 60 + parts[1] <= 14 * 60 else { return nil }
        return sign * (parts[0] * 3600 + parts[1] * 60)
    }
}
