public import Dispensing
import SwiftASN1

/// The professions gematik names in a health professional's certificate (gemSpec_OID
/// `GS-A_4442`; IBM `shared/model/ProfessionOid.hxx`), the ones erx signs or checks.
public enum SignerProfession: String, Sendable, CaseIterable {
    case arzt = "1.2.276.0.76.4.30"
    case zahnarzt = "1.2.276.0.76.4.31"
    case apotheker = "1.2.276.0.76.4.32"
    case psychotherapeut = "1.2.276.0.76.4.45"
    case psychologischerPsychotherapeut = "1.2.276.0.76.4.46"
    case kinderUndJugendlichenpsychotherapeut = "1.2.276.0.76.4.47"

    /// `professionItems` text as gematik's HBA certificates write it.
    public var title: String {
        switch self {
        case .arzt: "Ärztin/Arzt"
        case .zahnarzt: "Zahnärztin/Zahnarzt"
        case .apotheker: "Apothekerin/Apotheker"
        case .psychotherapeut: "Psychotherapeutin/Psychotherapeut"
        case .psychologischerPsychotherapeut: "Psychologische Psychotherapeutin/Psychologischer Psychotherapeut"
        case .kinderUndJugendlichenpsychotherapeut: "Kinder- und Jugendlichenpsychotherapeutin/-psychotherapeut"
        }
    }

    /// Who may sign a prescription of a flow type (IBM `ActivateTaskHandler::allowedProfessionOidsForQesSignature`):
    /// A_19225-02 160/169/200/209 Arzt, Zahnarzt; A_27812 166 (T-Rezept) Arzt only; A_25990 162 (DiGA)
    /// also the three psychotherapist professions.
    public static func allowed(for flowType: FlowType) -> Set<SignerProfession> {
        switch flowType {
        case .diga: [.arzt, .zahnarzt, .psychotherapeut, .psychologischerPsychotherapeut, .kinderUndJugendlichenpsychotherapeut]
        case .tPrescription: [.arzt]
        default: [.arzt, .zahnarzt]
        }
    }
}

/// The Admission extension (OID 1.3.36.8.3.3, Common-PKI `AdmissionSyntax`, profiled by gemSpec_PKI
/// for HBA and SMC-B): where a certificate names its holder's profession and registration number.
///
/// ```
/// AdmissionSyntax ::= SEQUENCE { admissionAuthority GeneralName OPTIONAL, contentsOfAdmissions SEQUENCE OF Admissions }
/// Admissions ::= SEQUENCE { admissionAuthority [0] EXPLICIT GeneralName OPTIONAL,
///     namingAuthority [1] EXPLICIT NamingAuthority OPTIONAL, professionInfos SEQUENCE OF ProfessionInfo }
/// ProfessionInfo ::= SEQUENCE { namingAuthority [0] EXPLICIT NamingAuthority OPTIONAL,
///     professionItems SEQUENCE OF DirectoryString, professionOIDs SEQUENCE OF OBJECT IDENTIFIER OPTIONAL,
///     registrationNumber PrintableString OPTIONAL, addProfessionInfo OCTET STRING OPTIONAL }
/// ```
public enum Admission {
    /// The extension value for one profession and registration number (the Telematik-ID on an HBA).
    public static func encode(_ profession: SignerProfession, registrationNumber: String) -> [UInt8] {
        typealias W = DERWriting
        let professionInfo = W.sequence(
            W.sequence(W.utf8String(profession.title)),
            W.sequence(W.oid(profession.rawValue)),
            W.printableString(registrationNumber)
        )
        return W.sequence(W.sequence(W.sequence(W.sequence(professionInfo))))
    }

    /// All `professionOIDs` in the extension value; throws if it is not an `AdmissionSyntax`.
    public static func professionOIDs(in value: [UInt8]) throws -> [String] {
        var oids: [String] = []
        let syntax = try ASN1Walk.children(of: BER.parse(value))
        guard let contents = syntax.last, contents.identifier == .sequence else { throw ASN1Walk.Malformed() }
        for admissions in try ASN1Walk.children(of: contents) {
            let universal = try ASN1Walk.children(of: admissions).filter { $0.identifier.tagClass == .universal }
            guard let professionInfos = universal.last else { continue }
            for info in try ASN1Walk.children(of: professionInfos) {
                let fields = try ASN1Walk.children(of: info).filter { $0.identifier == .sequence }
                // professionItems, then professionOIDs if present.
                guard fields.count >= 2 else { continue }
                oids += try ASN1Walk.children(of: fields[1]).compactMap(ASN1Walk.oid)
            }
        }
        return oids
    }
}
