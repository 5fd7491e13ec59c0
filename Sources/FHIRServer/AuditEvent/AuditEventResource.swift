import Dispensing
import FHIRModel
import Foundation

/// Renders a stored audit entry as the insurant reads it: a `GEM_ERP_PR_AuditEvent` with the
/// production service's texts in German or English (A_19296-04, A_19302; fd-parity.md §6.2–§6.4).
enum AuditEventResource {
    static let profile = "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_AuditEvent|1.6"

    /// The language of the texts: `Accept-Language` taken verbatim, `de` or else `en`, as the
    /// production service reads it (so `de-DE` is English).
    enum Language: String, Sendable {
        case de, en

        init(acceptLanguage: String?) {
            self = acceptLanguage?.trimmingCharacters(in: .whitespaces) == "de" ? .de : .en
        }
    }

    /// The name and identifier of the registry's agent: the service itself (A_25962).
    static let serviceName = "E-Rezept-Fachdienst"
    static let serviceTelematikID = "9-E-Rezept-Fachdienst"

    /// `reader` is the insurant reading: their own events name them as the token names them now,
    /// as the production service resolves its `{self}` agent at read time.
    static func element(_ stored: StoredAuditEntry, language: Language, reader: Caller) -> Element {
        let entry = stored.entry
        let kind = Kind(entry.action)
        let isRegistry = kind.isRegistry
        let ownEvent = entry.agentProfession == .insurant && !entry.representative && entry.agentID == reader.kvnr?.rawValue
        let name = isRegistry ? serviceName : (ownEvent ? reader.name ?? entry.agentName : entry.agentName) ?? "unbekannt"
        let prescription = entry.prescriptionID?.rawValue
        let text = kind.text(language, agent: name, prescriptionID: prescription ?? "+", failed: entry.failed)
        let agentIdentifier: Element = isRegistry
            ? .identifier("identifier", system: Systems.telematikID, value: serviceTelematikID)
            : entry.agentProfession == .insurant
                ? .identifier("identifier", system: Systems.kvnr, value: entry.agentID ?? "")
                : .identifier("identifier", system: Systems.telematikID, value: entry.agentID ?? "")
        let agentType: (code: String, display: String) = isRegistry ? ("dataprocessor", "Data Processor") : ("humanuser", "Human User")
        let what: String = switch entry.action {
        case .readDispensations: prescription.map { "MedicationDispense?identifier=\(Systems.prescriptionID)|\($0)" } ?? "MedicationDispense"
        default: prescription.map { "Task/\($0)" } ?? "Task"
        }
        return .complex("AuditEvent", [
            .primitive("id", stored.id),
            .meta(profile: profile),
            .complex("text", [.primitive("status", "generated"), .primitive("div", xhtml(text, language))]),
            .coding("type", system: "http://terminology.hl7.org/CodeSystem/audit-event-type", code: "rest"),
            .coding("subtype", system: "http://hl7.org/fhir/restful-interaction", code: kind.interaction.code),
            .primitive("language", language.rawValue),
            .primitive("action", kind.interaction.action),
            .primitive("recorded", FHIRInstant.format(entry.recorded)),
            .primitive("outcome", "0"),
            .complex("agent", [
                .complex("type", [.coding(system: "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
                                          code: agentType.code, display: agentType.display)]),
                .complex("who", [agentIdentifier]),
                .primitive("name", name),
                .primitive("requestor", "false"),
            ]),
            .complex("source", [.primitive("site", "E-Rezept Fachdienst"), .reference("observer", "Device/1")]),
            .complex("entity", [
                .complex("what", [
                    .primitive("reference", what),
                    prescription.map { .identifier("identifier", system: Systems.prescriptionID, value: $0) },
                ]),
                entry.kvnr.map { .primitive("name", $0.rawValue) },
                .primitive("description", prescription ?? "+"),
            ]),
        ])
    }

    /// The narrative: the text as XHTML, with the agent's name escaped (it comes from a token).
    static func xhtml(_ text: String, _ language: Language) -> String {
        let escaped = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        return #"<div xmlns="http://www.w3.org/1999/xhtml" lang="\#(language.rawValue)" xml:lang="\#(language.rawValue)">\#(escaped)</div>"#
    }

    /// What an audit entry was, with the interaction and the texts of TAB_eRPFD_004 (A_19284-14)
    /// and of the registry events (A_25962).
    enum Kind {
        case activate, accept, reject, dispense, close, abort, read, readDispensations, create
        /// The eGK list events 26, 28, 30, 31 (fd-parity §1.6, §6.3).
        case egk(AuditEntry.Action)
        case registry(AuditEntry.Action)

        init(_ action: AuditEntry.Action) {
            switch action {
            case .create: self = .create
            case .activate: self = .activate
            case .accept: self = .accept
            case .reject: self = .reject
            case .dispense: self = .dispense
            case .close: self = .close
            case .abort: self = .abort
            case .read: self = .read
            case .readDispensations: self = .readDispensations
            case .egkList, .egkListFailed, .egkListOffline, .egkListOfflineRefused, .poppListHealthID, .poppListPractitionerCard,
                 .poppListProviderCard, .poppListOther: self = .egk(action)
            case .registryProvidePrescription, .registryCancelPrescription, .registryProvideDispensation, .registryCancelDispensation:
                self = .registry(action)
            }
        }

        var isRegistry: Bool {
            if case .registry = self { true } else { false }
        }

        var interaction: (code: String, action: String) {
            switch self {
            case .create: ("create", "C")
            case .activate, .accept, .reject, .dispense, .close: ("update", "U")
            case .abort: ("delete", "D")
            case .read, .readDispensations, .egk: ("read", "R")
            case .registry(.registryCancelPrescription), .registry(.registryCancelDispensation): ("delete", "D")
            case .registry: ("create", "C")
            }
        }

        func text(_ language: Language, agent a: String, prescriptionID p: String, failed: Bool) -> String {
            switch (self, language) {
            case (.create, .de): "\(a) hat das Rezept mit der ID \(p) erstellt."
            case (.create, .en): "\(a) created a prescription \(p)."
            case (.activate, .de): "\(a) hat das Rezept mit der ID \(p) eingestellt."
            case (.activate, .en): "\(a) activated a prescription \(p)."
            case (.accept, .de): "\(a) hat das Rezept mit der ID \(p) angenommen."
            case (.accept, .en): "\(a) accepted a prescription \(p)."
            case (.reject, .de): "\(a) hat das Rezept mit der ID \(p) zurückgegeben."
            case (.reject, .en): "\(a) rejected a prescription \(p)."
            case (.dispense, .de), (.close, .de): "\(a) hat das Rezept mit der ID \(p) beliefert."
            case (.dispense, .en): "\(a) dispensed a prescription \(p)."
            case (.close, .en): "\(a) closed a prescription \(p)."
            case (.abort, .de): "\(a) hat das Rezept mit der ID \(p) gelöscht."
            case (.abort, .en): "\(a) deleted a prescription \(p)."
            case (.read, .de): "\(a) hat das Rezept mit der ID \(p) heruntergeladen."
            case (.read, .en): "\(a) downloaded a prescription \(p)."
            case (.readDispensations, .de): "\(a) hat eine Liste mit Medikament-Informationen heruntergeladen."
            case (.readDispensations, .en): "\(a) downloaded a medication dispense list."
            case (.registry(let action), _): Self.registryText(action, language, failed: failed)
            case (.egk(let action), _): Self.egkText(action, language, agent: a)
            }
        }

        /// [E2E exact] for German (gematik's suite compares 26/28/30/31 whitespace-insensitively).
        static func egkText(_ action: AuditEntry.Action, _ language: Language, agent a: String) -> String {
            let listed = language == .de ? "\(a) hat mit Ihrer eGK die Liste der offenen E-Rezepte abgerufen."
                : "\(a) retrieved your dispensable e-prescriptions using your health card."
            let failed = language == .de ? "\(a) konnte aufgrund eines Fehlerfalls nicht die Liste der offenen E-Rezepte mit Ihrer eGK abrufen."
                : "\(a) was not able to retrieve your e-prescriptions due to an error with your health card."
            switch (action, language) {
            case (.poppListHealthID, _), (.poppListPractitionerCard, _), (.poppListProviderCard, _), (.poppListOther, _):
                return poppText(action, language, agent: a)
            case (.egkListFailed, _): return failed
            case (.egkListOffline, .de): return listed + " (Offline-Check wurde akzeptiert)"
            case (.egkListOffline, .en): return listed + " (Offline-Check get accepted)"
            case (.egkListOfflineRefused, .de): return failed + " (Offline-Check wurde nicht akzeptiert)"
            case (.egkListOfflineRefused, .en): return failed + " (Offline-Check was not accepted)"
            default: return listed
            }
        }

        /// Event 50 (IBM `AuditEventTextTemplates::proofMethodString`).
        static func poppText(_ action: AuditEntry.Action, _ language: Language, agent a: String) -> String {
            let method: String = switch (action, language) {
            case (.poppListHealthID, _): "GesundheitsID"
            case (.poppListPractitionerCard, .de): "Gesundheitskarte in der Apotheke"
            case (.poppListPractitionerCard, .en): "the health card at the pharmacy"
            case (.poppListProviderCard, .de): "Gesundheitskarte über ein Endgerät des Versicherten"
            case (.poppListProviderCard, .en): "the insured person’s health card on their device"
            case (_, .de): "eines Nachweises des Versorgungskontextes"
            case (_, .en): "a proof of presence"
            }
            return language == .de ? "\(a) hat die Liste der einlösbaren E-Rezepte abgerufen durch Autorisierung mittels \(method)."
                : "\(a) retrieved a list of prescriptions to be redeemed by authorization with \(method)."
        }

        static func registryText(_ action: AuditEntry.Action, _ language: Language, failed: Bool) -> String {
            switch (action, language, failed) {
            case (.registryProvidePrescription, .de, false): "Die Verordnung wurde in die Patientenakte übertragen."
            case (.registryProvidePrescription, .de, true): "Die Verordnung konnte nicht in die Patientenakte übertragen werden."
            case (.registryProvidePrescription, .en, false): "Prescription has been transferred into Patientenakte."
            case (.registryProvidePrescription, .en, true): "Prescription could not be transferred into Patientenakte."
            case (.registryProvideDispensation, .de, false): "Die Medikamentenabgabe wurde in die Patientenakte übertragen."
            case (.registryProvideDispensation, .de, true): "Die Medikamentenabgabe konnte nicht in die Patientenakte übertragen werden."
            case (.registryProvideDispensation, .en, false): "Dispensation has been transferred into Patientenakte."
            case (.registryProvideDispensation, .en, true): "Dispensation could not be transferred into Patientenakte."
            case (.registryCancelPrescription, .de, false): "Die Löschinformation zum E-Rezept wurde in die Patientenakte übermittelt."
            case (.registryCancelPrescription, .de, true): "Die Löschinformation zum E-Rezept konnte nicht in die Patientenakte übermittelt werden."
            case (.registryCancelPrescription, .en, false): "Deletion of prescription has been transferred into Patientenakte."
            case (.registryCancelPrescription, .en, true): "Deletion of prescription could not be transferred into Patientenakte."
            case (.registryCancelDispensation, .de, false): "Die Löschinformation für die Medikamentenabgabe wurde in die Patientenakte übertragen."
            case (.registryCancelDispensation, .de, true): "Die Löschinformation für die Medikamentenabgabe konnte nicht in die Patientenakte übertragen werden."
            case (.registryCancelDispensation, .en, false): "Deletion of Dispensation has been transferred into Patientenakte."
            case (.registryCancelDispensation, .en, true): "Deletion of Dispensation could not be transferred into Patientenakte."
            default: ""
            }
        }
    }
}
