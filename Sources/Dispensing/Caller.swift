/// Who is calling: the profession of the token's holder (`professionOID`) and their `idNummer`.
///
/// The server builds this from a verified access token; the rules below only read it.
public struct Caller: Sendable, Hashable {
    public let profession: Profession
    /// The Telematik-ID of an institution, or `nil` for an insurant or when the token has none.
    public let telematikID: TelematikID?
    /// The KVNR of an insurant, or `nil` for institutions.
    public let kvnr: KVNR?
    /// The name the audit trail shows for this caller (A_19391-01, A_22217): the institution's
    /// `organizationName`, or the insurant's `display_name` (else `given_name family_name`) from
    /// the token; `nil` when the token names none.
    public let name: String?

    public init(profession: Profession, telematikID: TelematikID? = nil, kvnr: KVNR? = nil, name: String? = nil) {
        self.profession = profession
        self.telematikID = telematikID
        self.kvnr = kvnr
        self.name = name
    }
}

/// The profession OIDs of gemSpec_OID that the e-prescription routes admit.
public enum Profession: String, Sendable, Hashable, CaseIterable {
    case insurant = "1.2.276.0.76.4.49"
    case doctorsPractice = "1.2.276.0.76.4.50"
    case dentistsPractice = "1.2.276.0.76.4.51"
    case psychotherapistsPractice = "1.2.276.0.76.4.52"
    case hospital = "1.2.276.0.76.4.53"
    case publicPharmacy = "1.2.276.0.76.4.54"
    case hospitalPharmacy = "1.2.276.0.76.4.55"
    case insurer = "1.2.276.0.76.4.59"
    case preventionRehabilitation = "1.2.276.0.76.4.257"

    /// The gemSpec_OID name (`oid_oeffentliche_apotheke`), for logs and the CapabilityStatement.
    public var name: String {
        switch self {
        case .insurant: "oid_versicherter"
        case .doctorsPractice: "oid_praxis_arzt"
        case .dentistsPractice: "oid_zahnarztpraxis"
        case .psychotherapistsPractice: "oid_praxis_psychotherapeut"
        case .hospital: "oid_krankenhaus"
        case .publicPharmacy: "oid_oeffentliche_apotheke"
        case .hospitalPharmacy: "oid_krankenhausapotheke"
        case .insurer: "oid_kostentraeger"
        case .preventionRehabilitation: "oid_institution-vorsorge-reha"
        }
    }

    public static let prescribers: Set<Profession> = [
        .doctorsPractice, .dentistsPractice, .psychotherapistsPractice, .hospital, .preventionRehabilitation,
    ]
    public static let pharmacies: Set<Profession> = [.publicPharmacy, .hospitalPharmacy]

    /// The institutions that redeem prescriptions: the pharmacies and, for DiGA (162), the insurers.
    /// IBM counts all three as its inner role "pharmacy" (`toInnerRequestRole`), e.g. for `GET /Task/{id}`.
    public static let redeemers: Set<Profession> = pharmacies.union([.insurer])

    public var isPharmacy: Bool { Self.pharmacies.contains(self) }
    public var isRedeemer: Bool { Self.redeemers.contains(self) }
    public var isPrescriber: Bool { Self.prescribers.contains(self) }
}
