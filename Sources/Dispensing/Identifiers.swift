/// The identifiers of the e-prescription workflow as value types: each one can only be made from a
/// string that has its format, so code past the parsing step never re-checks a raw string.

/// `fff.nnn.nnn.nnn.nnn.cc`: flow type, a twelve-digit serial, and two check digits
/// (ISO 7064 MOD 97-10 over the fifteen digits before them).
public struct PrescriptionID: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    public let flowType: FlowType

    /// Parses and checks format, flow type and check digits; `nil` for anything else.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 22 else { return nil }
        var digits: [UInt8] = []
        digits.reserveCapacity(17)
        for (index, byte) in bytes.enumerated() {
            if index % 4 == 3 {
                guard byte == UInt8(ascii: ".") else { return nil }
            } else {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                digits.append(byte - UInt8(ascii: "0"))
            }
        }
        guard Self.mod97(digits) == 1 else { return nil }
        let code = Int(digits[0]) * 100 + Int(digits[1]) * 10 + Int(digits[2])
        guard let flowType = FlowType(rawValue: code) else { return nil }
        self.rawValue = text
        self.flowType = flowType
    }

    /// The ID of a new task: the flow type, a serial below 10¹², and the check digits for both.
    public init(flowType: FlowType, serial: UInt64) {
        precondition(serial < 1_000_000_000_000, "a PrescriptionID serial has twelve digits")
        var digits = Self.digits(of: UInt64(flowType.rawValue), count: 3) + Self.digits(of: serial, count: 12)
        let check = 98 - Self.mod97(digits + [0, 0])
        digits += Self.digits(of: UInt64(check), count: 2)
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, index % 3 == 0 { text.append(".") }
            text.append(Character(Unicode.Scalar(UInt8(ascii: "0") + digit)))
        }
        self.rawValue = text
        self.flowType = flowType
    }

    public var description: String { rawValue }

    private static func mod97(_ digits: [UInt8]) -> Int {
        digits.reduce(0) { ($0 * 10 + Int($1)) % 97 }
    }

    private static func digits(of value: UInt64, count: Int) -> [UInt8] {
        var value = value
        var digits = [UInt8](repeating: 0, count: count)
        for index in stride(from: count - 1, through: 0, by: -1) {
            digits[index] = UInt8(value % 10)
            value /= 10
        }
        return digits
    }
}

/// The ten-character health insurance number of the insured person (`^[A-Z][0-9]{9}$`), used with the
/// system `http://fhir.de/sid/gkv/kvid-10`.
public struct KVNR: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[0] >= UInt8(ascii: "A"), bytes[0] <= UInt8(ascii: "Z"),
              bytes.dropFirst().allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        rawValue = text
    }

    /// Never printed: a KVNR is personal data and stays out of logs and error texts.
    public var description: String { "KVNR(…)" }
}

/// The Telematik-ID of an institution (`idNummer` of a pharmacy's or practice's token), such as
/// `3-SMC-B-Testkarte-883110000095957`: a sector number, a dash, then printable ASCII.
public struct TelematikID: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 3, bytes.count <= 128, let dash = bytes.firstIndex(of: UInt8(ascii: "-")), dash > 0,
              bytes[..<dash].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              dash + 1 < bytes.count,
              bytes[(dash + 1)...].allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return nil }
        rawValue = text
    }

    public var description: String { rawValue }
}

/// A 256-bit random value written as 64 lowercase hex digits: the AccessCode of a task (made at
/// `$create`, printed in the patient's token) and the Secret (made at `$accept`, held by the pharmacy).
public struct TaskCredential: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    public init?(_ text: String) {
        guard text.utf8.count == 64,
              text.utf8.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) })
        else { return nil }
        rawValue = text
    }

    /// Made from 32 random bytes.
    public init(randomBytes: [UInt8]) {
        precondition(randomBytes.count == 32, "a task credential has 256 bits")
        let hex = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(64)
        for byte in randomBytes {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0F)])
        }
        rawValue = String(decoding: text, as: UTF8.self)
    }

    /// Compares in time independent of where the strings differ, so a caller cannot learn a secret
    /// byte by byte from response times.
    public func matches(_ candidate: String?) -> Bool {
        guard let candidate else { return false }
        let lhs = Array(rawValue.utf8), rhs = Array(candidate.utf8)
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }

    /// Never printed in full.
    public var description: String { "credential(…)" }
}

public typealias AccessCode = TaskCredential
public typealias Secret = TaskCredential

/// The workflow type of a prescription (`GEM_ERP_CS_FlowType`), the first three digits of its ID.
public enum FlowType: Int, Sendable, Hashable, CaseIterable {
    case gkvPharmacy = 160
    case diga = 162
    case tPrescription = 166
    case gkvDirectAssignment = 169
    case pkvPharmacy = 200
    case pkvDirectAssignment = 209

    /// Every flow: the pharmacy flows, 162 (DiGA, redeemed at the insurer) and 166 (T-Rezept, with
    /// its BfArM copy at `$close`).
    public static let supported: Set<FlowType> = [.gkvPharmacy, .diga, .tPrescription, .gkvDirectAssignment, .pkvPharmacy, .pkvDirectAssignment]

    /// Who takes the prescription (`$accept`, A_19166-02, A_25993): the insurer for a DiGA, a public
    /// or hospital pharmacy for every other flow (IBM registers `$accept` with these roles per flow).
    public var redeemingProfessions: Set<Profession> { self == .diga ? [.insurer] : Profession.pharmacies }

    /// Whether the ePA medication service learns of this flow's prescriptions and dispensations
    /// (A_25944-01: 160, 166, 169, 200, 209; not the DiGA flow 162).
    public var isTransferredToRegistry: Bool { self != .diga }

    /// Whether the prescriber assigns the pharmacy directly (the insurant may then only delete a
    /// completed task).
    public var isDirectAssignment: Bool { self == .gkvDirectAssignment || self == .pkvDirectAssignment }

    /// The display `GEM_ERP_CS_FlowType` gives the code in workflow 1.6 (the version the Task
    /// claims); the "Muster 16 (…)" texts of workflow 1.2 are wrong displays there.
    public var display: String {
        switch self {
        case .gkvPharmacy: "Flowtype für Apothekenpflichtige Arzneimittel"
        case .diga: "Flowtype für Digitale Gesundheitsanwendungen"
        case .tPrescription: "Flowtype für Arzneimittel nach § 3a AMVV"
        case .gkvDirectAssignment: "Flowtype zur Workflow-Steuerung durch Leistungserbringer"
        case .pkvPharmacy: "Flowtype für Apothekenpflichtige Arzneimittel (PKV)"
        case .pkvDirectAssignment: "Flowtype zur Workflow-Steuerung durch Leistungserbringer (PKV)"
        }
    }
}

/// The systems (NamingSystems and CodeSystems) these identifiers are written with.
public enum Systems {
    public static let prescriptionID = "https://gematik.de/fhir/erp/NamingSystem/GEM_ERP_NS_PrescriptionId"
    public static let accessCode = "https://gematik.de/fhir/erp/NamingSystem/GEM_ERP_NS_AccessCode"
    public static let secret = "https://gematik.de/fhir/erp/NamingSystem/GEM_ERP_NS_Secret"
    public static let kvnr = "http://fhir.de/sid/gkv/kvid-10"
    public static let pkvKVNR = "http://fhir.de/sid/pkv/kvid-10"
    public static let telematikID = "https://gematik.de/fhir/sid/telematik-id"
    public static let flowType = "https://gematik.de/fhir/erp/CodeSystem/GEM_ERP_CS_FlowType"
}
