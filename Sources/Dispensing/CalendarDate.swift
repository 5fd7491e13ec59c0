public import Foundation

/// Plain dates (`YYYY-MM-DD`) as the German workflow counts them: in the Europe/Berlin time zone.
public enum CalendarDate {
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Berlin") ?? .gmt
        return calendar
    }()

    /// The Berlin calendar date of an instant.
    public static func day(of instant: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: instant)
        return format(year: parts.year ?? 0, month: parts.month ?? 0, day: parts.day ?? 0)
    }

    /// The date part of a FHIR date or dateTime (`2025-03-02T10:00:00+01:00` → `2025-03-02`), or
    /// `nil` when it is only a year or a month.
    public static func datePart(of text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy({ bytes[$0] >= UInt8(ascii: "0") && bytes[$0] <= UInt8(ascii: "9") })
        else { return nil }
        return String(decoding: bytes[0..<10], as: UTF8.self)
    }

    /// `date` plus whole days or months (month ends clamp: 2025-01-31 + 1 month = 2025-02-28).
    public static func adding(days: Int = 0, months: Int = 0, to date: String) -> String? {
        let fields = date.split(separator: "-").compactMap { Int($0) }
        // Foundation's calendar arithmetic traps on years far out of range: only real dates go in.
        guard fields.count == 3, (1...9999).contains(fields[0]), (1...12).contains(fields[1]), (1...31).contains(fields[2]),
              (-100_000...100_000).contains(days), (-10_000...10_000).contains(months),
              let start = calendar.date(from: DateComponents(year: fields[0], month: fields[1], day: fields[2], hour: 12)),
              let end = calendar.date(byAdding: DateComponents(month: months, day: days), to: start)
        else { return nil }
        return day(of: end)
    }

    private static func format(year: Int, month: Int, day: Int) -> String {
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }
}
