import FHIRModel
import Foundation

/// The MVO rules at `$activate` (fd-parity.md §8.3; IBM `ActivateTaskHandler::checkMultiplePrescription`),
/// in the production service's order and words. gematik's MVO scenarios (E2E ERP_EE_MVO_01…09) assert
/// only the status; the texts are IBM's.
enum MultiplePrescriptionRules {
    static func check(
        _ mvo: KBVMultiplePrescription, at path: String, flowType: FlowType, legalBasis: String?, authoredOn: String
    ) throws(DispensingError) {
        func refused(_ text: String, code: String? = nil, diagnostics: String? = nil) -> DispensingError {
            PrescriptionChecks.refused(text, code: code, at: path, diagnostics: diagnostics)
        }
        guard mvo.isMultiple else {
            // A_22631: numbering and period belong to an MVO only.
            if mvo.hasNumbering { throw refused("Nummerierung darf nur bei MVO angegeben werden") }
            if mvo.hasPeriod { throw refused("Zeitraum darf nur bei MVO angegeben werden") }
            return
        }
        // A_24901.
        guard let id = mvo.id, isURNUUID(id) else {
            throw refused("MVO-ID entspricht nicht urn:uuid format", code: "TIFLOW_EREZEPT_MVO_ID_INVALID",
                          diagnostics: "urn:uuid format pattern: urn:uuid:<XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX>")
        }
        let start = mvo.start.flatMap(CalendarDate.datePart(of:))
        let end = mvo.end.flatMap(CalendarDate.datePart(of:))
        // A_23164.
        if let start, let end, end < start { throw refused("Ende der Einlösefrist liegt vor Beginn der Einlösefrist") }
        // A_22627-01.
        if flowType == .diga {
            throw refused("Mehrfachverordnungen nur für die Verordnungen von apothekenpflichtigen Arzneimittel zulässig",
                          diagnostics: "Invalid FlowType 162 for MVO")
        }
        let numerator = mvo.numerator ?? 0
        let denominator = mvo.denominator ?? 0
        // A_22628, A_22704, A_22629, A_22630.
        if numerator > 4 || denominator > 4 { throw refused("Eine Mehrfachverordnungen darf aus maximal 4 Teilverordnungen bestehen") }
        if numerator < 1 { throw refused("Für eine Mehrfachverordnungen muss der numerator größer 0 sein.") }
        if denominator < 2 { throw refused("Eine Mehrfachverordnung muss aus mindestens 2 Teilverordnungen bestehen") }
        if numerator > denominator { throw refused("Numerator ist größer als denominator") }
        // A_22633 (substitute prescriptions: 10, 11, 17), A_22632 (discharge: 04, 14).
        switch legalBasis {
        case "10", "11", "17": throw refused("Für Ersatzverordnung sind keine Mehrfachverordnungen zulässig")
        case "04", "14": throw refused("Für Entlassrezepte sind keine Mehrfachverordnungen zulässig")
        default: break
        }
        // A_22634, A_23537.
        guard let start else { throw refused("Beginn der Einlösefrist für MVO ist erforderlich") }
        if start < authoredOn { throw refused("Einlösefrist liegt zeitlich vor dem Ausstellungsdatum") }
    }

    /// `$accept` (A_22635-02, fd-parity §8.4): a part of a multiple prescription is redeemable from
    /// the (Berlin) day its period starts; before, its MVO id and start day.
    static func notYetRedeemable(_ bundle: Element, on today: String) -> (mvoID: String, start: String)? {
        guard let request = KBVPrescriptionView(bundle).resources("MedicationRequest").first?.resource,
              let mvo = KBVMultiplePrescription(request: request), mvo.isMultiple,
              let start = mvo.start.flatMap(CalendarDate.datePart(of:)), today < start
        else { return nil }
        return (mvo.id ?? "", start)
    }

    /// `urn:uuid:` and a UUID in its 8-4-4-4-12 hex form.
    static func isURNUUID(_ text: String) -> Bool {
        guard text.hasPrefix("urn:uuid:") else { return false }
        let uuid = Array(text.utf8.dropFirst(9))
        guard uuid.count == 36 else { return false }
        return uuid.enumerated().allSatisfy { index, byte in
            [8, 13, 18, 23].contains(index) ? byte == UInt8(ascii: "-")
                : (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
        }
    }
}
