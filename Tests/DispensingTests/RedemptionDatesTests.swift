import Dispensing
import Foundation
import Testing

/// The redemption dates of the T-Rezept (A_27846) and of discharge prescriptions (A_19517-04), as
/// IBM's `ActivateTaskHandler`, `Task::setAcceptDate` and `WorkDay` compute them.
struct RedemptionDatesTests {
    /// IBM's `easter.csv` lists these (2024-03-31, 2025-4-20, 2026-4-5, 2027-3-28).
    @Test(arguments: [(2000, "2000-04-23"), (2019, "2019-04-21"), (2024, "2024-03-31"), (2025, "2025-04-20"),
                      (2026, "2026-04-05"), (2027, "2027-03-28"), (2038, "2038-04-25")])
    func easterSunday(_ year: Int, _ expected: String) {
        #expect(RedemptionDates.easterSunday(year: year) == expected)
    }

    /// IBM's production holidays: Sundays and the nationwide holidays are not working days;
    /// Saturdays and regional holidays (6 January, Corpus Christi, 31 October) are.
    @Test(arguments: [
        ("2025-03-08", true), ("2025-03-09", false), ("2025-03-10", true),
        ("2026-01-01", false), ("2026-01-06", true), ("2026-04-03", false), ("2026-04-06", false),
        ("2026-05-01", false), ("2026-05-14", false), ("2026-05-25", false), ("2026-06-04", true),
        ("2026-10-03", false), ("2026-10-31", true), ("2026-12-24", true), ("2026-12-25", false), ("2026-12-26", false),
    ])
    func workingDays(_ date: String, _ working: Bool) {
        #expect(RedemptionDates.isWorkingDay(date) == working, "\(date)")
    }

    /// A_19517-04: the signing day counts; 3 working days by default.
    @Test(arguments: [
        ("2025-03-03", 3, "2025-03-05"),  // Monday → Wednesday
        ("2025-03-07", 3, "2025-03-10"),  // Friday, Saturday, (Sunday), Monday
        ("2025-03-08", 3, "2025-03-11"),  // Saturday counts
        ("2025-03-09", 3, "2025-03-12"),  // Sunday: the count starts on Monday
        ("2025-07-31", 3, "2025-08-02"),  // across a month end
        ("2028-02-28", 3, "2028-03-01"),  // across a leap day
        ("2025-12-24", 3, "2025-12-29"),  // Christmas and a Sunday skipped
        ("2025-12-31", 3, "2026-01-03"),  // across the year end and New Year
        ("2026-04-02", 3, "2026-04-07"),  // Good Friday, Easter Sunday and Monday skipped
        ("2025-03-03", 1, "2025-03-03"),  // one day: the signing day
        ("2025-03-09", 1, "2025-03-10"),  // one day from a Sunday: the next working day
        ("2025-03-03", 5, "2025-03-07"),
    ])
    func dischargeAcceptDate(_ issued: String, _ validity: Int, _ expected: String) {
        #expect(RedemptionDates.dischargeAcceptDate(issued: issued, validityWorkdays: validity) == expected)
    }

    @Test func dischargeLegalBases() {
        #expect(RedemptionDates.isDischarge(legalBasis: "04"))
        #expect(RedemptionDates.isDischarge(legalBasis: "14"))
        for basis in ["00", "01", "07", "10", "11", "17", nil] { #expect(!RedemptionDates.isDischarge(legalBasis: basis)) }
    }

    /// A_27846: the FD adds six days of 24 h to the signing instant and takes the Berlin date:
    /// within an hour of midnight around a daylight-saving change the day moves.
    @Test(arguments: [
        ("2025-05-20T08:30:00Z", "2025-05-26"),
        ("2025-02-28T12:00:00Z", "2025-03-06"),
        ("2025-10-20T21:30:00Z", "2025-10-26"),  // 23:30 CEST on the 20th
        ("2025-10-20T22:30:00Z", "2025-10-26"),  // 00:30 CEST on the 21st: the extra autumn hour ends it on the 26th
        ("2026-03-24T22:30:00Z", "2026-03-31"),  // 23:30 CET on the 24th: the lost spring hour ends it on the 31st
    ])
    func tPrescriptionExpiry(_ signed: String, _ expected: String) throws {
        let instant = try #require(ISO8601DateFormatter().date(from: signed))
        #expect(RedemptionDates.tPrescriptionExpiry(signedAt: instant, issued: CalendarDate.day(of: instant)) == expected)
    }

    /// A bundle accepted unsigned has no signing time: the issue day plus six.
    @Test func tPrescriptionExpiryWithoutSignature() {
        #expect(RedemptionDates.tPrescriptionExpiry(signedAt: nil, issued: "2025-12-29") == "2026-01-04")
    }

    /// `$activate` of a 166 task: expiry and accept date six days after signing (A_27846).
    @Test func activateTPrescriptionA27846() throws {
        let id = PrescriptionID(flowType: .tPrescription, serial: 33_491_280)
        let draft = PrescriptionTask(id: id, status: .draft, accessCode: Fixtures.accessCode, createdAt: Fixtures.created)
        let signedAt = try #require(ISO8601DateFormatter().date(from: "2025-03-01T09:00:00Z"))
        let bundle = try PrescriptionBundle(FHIR.prescriptionBundle(prescriptionID: id.rawValue, authoredOn: "2025-03-01"), signedAt: signedAt)
        let change = try TaskRules.activate(draft, accessCode: Fixtures.accessCode.rawValue, prescription: bundle, caller: Fixtures.doctor,
                                            now: Fixtures.now)
        #expect(change.task.status == .ready)
        #expect(change.task.expiryDate == "2025-03-07")
        #expect(change.task.acceptDate == "2025-03-07")
    }
}
