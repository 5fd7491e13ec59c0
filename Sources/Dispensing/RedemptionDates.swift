public import Foundation

/// The redemption dates `$activate` writes that are not "three months" or "28 days": the T-Rezept's
/// six days (A_27846) and the discharge prescription's working days (A_19517-04), both counted from
/// the signing day in Europe/Berlin (IBM `ActivateTaskHandler.cxx`, `Task::setAcceptDate`).
public enum RedemptionDates {
    /// The working days a discharge prescription (Entlassrezept) may be redeemed in, the signing day
    /// included: IBM's production configuration `entlassRezeptValidityInWorkDays` is 3.
    public static let defaultDischargeValidityWorkdays = 3

    /// Whether the legal basis (`KBV_EX_FOR_Legal_basis`) marks a discharge prescription:
    /// `04` Entlassmanagement, `14` Entlassmanagement with Ersatzverordnung.
    public static func isDischarge(legalBasis: String?) -> Bool { legalBasis == "04" || legalBasis == "14" }

    /// A_27846: a T-Rezept expires six days after the signing instant; the FD adds 6 × 24 h to the
    /// signing time and writes the Berlin date of that instant (`*signingTime + days{6}`), which a
    /// signature within an hour of midnight on a daylight-saving change moves by a day. Without a
    /// signing time (an unsigned development bundle) the issue day plus six.
    public static func tPrescriptionExpiry(signedAt: Date?, issued: String) -> String? {
        guard let signedAt else { return CalendarDate.adding(days: 6, to: issued) }
        return CalendarDate.day(of: signedAt.addingTimeInterval(6 * 86_400))
    }

    /// A_19517-04: the last day a discharge prescription may be accepted: the `(validity − 1)`th
    /// working day after the first working day on or after the signing day (IBM `WorkDay`: the
    /// signing day counts when it is a working day; a Sunday or holiday signing starts on the next
    /// working day). `nil` for a date that is not one.
    public static func dischargeAcceptDate(issued: String, validityWorkdays: Int) -> String? {
        guard var day = CalendarDate.adding(days: 0, to: issued) else { return nil }
        while !isWorkingDay(day) { guard let next = CalendarDate.adding(days: 1, to: day) else { return nil }; day = next }
        var remaining = max(0, validityWorkdays - 1)
        while remaining > 0 {
            guard let next = CalendarDate.adding(days: 1, to: day) else { return nil }
            day = next
            if isWorkingDay(day) { remaining -= 1 }
        }
        return day
    }

    /// IBM `WorkDay::isWorkDay`: every day but Sundays and the holidays of its production
    /// configuration. Saturdays are working days (pharmacies open), and only the nationwide
    /// holidays count: New Year, Good Friday, Easter Sunday and Monday, 1 May, Ascension, Whit
    /// Monday, 3 October, 25 and 26 December.
    public static func isWorkingDay(_ date: String) -> Bool {
        let fields = date.split(separator: "-").compactMap { Int($0) }
        guard fields.count == 3 else { return false }
        let (year, month, day) = (fields[0], fields[1], fields[2])
        guard let weekday = weekday(year: year, month: month, day: day), weekday != 1 else { return false }
        if [(1, 1), (5, 1), (10, 3), (12, 25), (12, 26)].contains(where: { $0 == (month, day) }) { return false }
        guard let easter = easterSunday(year: year) else { return true }
        let offsets = [-2, 0, 1, 39, 50]
        return !offsets.contains { CalendarDate.adding(days: $0, to: easter) == date }
    }

    /// Easter Sunday of a Gregorian year (the anonymous Gregorian algorithm, "Meeus/Jones/Butcher");
    /// IBM reads the dates from a table, `easter.csv`, that agrees with it.
    public static func easterSunday(year: Int) -> String? {
        guard (1583...9999).contains(year) else { return nil }
        let a = year % 19, b = year / 100, c = year % 100
        let d = b / 4, e = b % 4, f = (b + 8) / 25, g = (b - f + 1) / 3
        let h = (19 * a + b - d - g + 15) % 30
        let i = c / 4, k = c % 4
        let l = (32 + 2 * e + 2 * i - h - k) % 7
        let m = (a + 11 * h + 22 * l) / 451
        let month = (h + l - 7 * m + 114) / 31
        let day = (h + l - 7 * m + 114) % 31 + 1
        return CalendarDate.adding(days: 0, to: "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)")
    }

    /// 1 Sunday … 7 Saturday (Foundation's numbering).
    private static func weekday(year: Int, month: Int, day: Int) -> Int? {
        guard let date = CalendarDate.calendar.date(from: DateComponents(year: year, month: month, day: day, hour: 12)) else { return nil }
        return CalendarDate.calendar.component(.weekday, from: date)
    }
}
