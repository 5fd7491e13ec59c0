import Dispensing
import Testing

/// PrescriptionID (format, ISO 7064 MOD 97-10 check digits, flow type), KVNR, Telematik-ID and the
/// 256-bit task credentials.
struct PrescriptionIDTests {
    @Test(arguments: [
        ("160.000.033.491.280.78", FlowType.gkvPharmacy),
        ("160.123.456.789.123.58", .gkvPharmacy),
        ("200.000.001.206.112.29", .pkvPharmacy),
        ("169.123.456.789.012.11", .gkvDirectAssignment),
        ("209.123.456.789.012.25", .pkvDirectAssignment),
        ("162.123.456.789.012.91", .diga),
        ("166.123.456.789.012.73", .tPrescription),
    ])
    func parsesValidIDs(_ text: String, _ flowType: FlowType) throws {
        let id = try #require(PrescriptionID(text))
        #expect(id.rawValue == text)
        #expect(id.description == text)
        #expect(id.flowType == flowType)
    }

    @Test func generatesTheKnownCheckDigits() {
        #expect(PrescriptionID(flowType: .gkvPharmacy, serial: 33_491_280).rawValue == "160.000.033.491.280.78")
        #expect(PrescriptionID(flowType: .gkvPharmacy, serial: 123_456_789_123).rawValue == "160.123.456.789.123.58")
        #expect(PrescriptionID(flowType: .pkvPharmacy, serial: 1_206_112).rawValue == "200.000.001.206.112.29")
        #expect(PrescriptionID(flowType: .gkvPharmacy, serial: 0).rawValue == "160.000.000.000.000.57")
        #expect(PrescriptionID(flowType: .gkvDirectAssignment, serial: 999_999_999_999).flowType == .gkvDirectAssignment)
    }

    @Test(arguments: FlowType.allCases)
    func generatedIDsParseBack(_ flowType: FlowType) throws {
        for serial: UInt64 in [0, 1, 42, 96, 97, 98, 33_491_280, 500_000_000_000, 999_999_999_999] {
            let generated = PrescriptionID(flowType: flowType, serial: serial)
            let parsed = try #require(PrescriptionID(generated.rawValue), "\(generated.rawValue)")
            #expect(parsed == generated)
            #expect(parsed.flowType == flowType)
            #expect(generated.rawValue.hasPrefix("\(flowType.rawValue)."))
            #expect(generated.rawValue.utf8.count == 22)
        }
    }

    @Test(arguments: [
        "160.000.000.000.000.01",  // check digits wrong
        "160.000.033.491.280.79",  // last check digit off by one
        "160.000.033.491.280.87",  // check digits swapped
        "160.000.033.491.208.78",  // serial digits swapped
        "200.000.001.206.112.28",
    ])
    func rejectsWrongCheckDigits(_ text: String) {
        #expect(PrescriptionID(text) == nil)
    }

    @Test(arguments: [
        "",
        "160.000.033.491.280.7",  // too short
        "160.000.033.491.280.780",  // too long
        "160000033491280.78....",  // 22 characters, dots misplaced
        "160-000-033-491-280-78",  // other separators
        "160.000.033.491.28078.",
        "16000003349128078",  // no dots
        "160.000.033.491.280.7a",  // a letter
        "l60.000.033.491.280.78",
        " 160.000.033.491.280.78",
        "160.000.033.491.280.78 ",
        "160.000.033.491.280.７８",  // full-width digits
    ])
    func rejectsBadFormat(_ text: String) {
        #expect(PrescriptionID(text) == nil)
    }

    @Test func rejectsUnknownFlowTypesEvenWithCorrectCheckDigits() {
        // Both have valid MOD 97-10 check digits, but 999 and 165 (BtM) are not flow types we know.
        #expect(PrescriptionID("999.000.000.000.001.13") == nil)
        #expect(PrescriptionID("165.000.000.000.001.80") == nil)
    }

    /// Every flow (issue 24): the pharmacy flows, 162 (DiGA) and 166 (T-Rezept).
    @Test func supportedFlowTypesAreEveryFlow() {
        #expect(FlowType.supported == Set(FlowType.allCases))
        #expect(FlowType.allCases.filter(\.isDirectAssignment) == [.gkvDirectAssignment, .pkvDirectAssignment])
    }
}

struct KVNRTests {
    @Test func acceptsALetterAndNineDigits() throws {
        let kvnr = try #require(KVNR("X234567890"))
        #expect(kvnr.rawValue == "X234567890")
        #expect(KVNR("A000000000")?.rawValue == "A000000000")
        #expect(KVNR("Z999999999")?.rawValue == "Z999999999")
    }

    @Test(arguments: ["x234567890", "X23456789", "X2345678901", "1234567890", "XX34567890", "X23456789A", "", "Ä234567890", "X234 67890"])
    func rejects(_ text: String) {
        #expect(KVNR(text) == nil)
    }

    @Test func neverPrintsTheNumber() {
        let kvnr = KVNR("X234567890")!
        #expect(kvnr.description == "KVNR(…)")
        #expect(!"\(kvnr)".contains("234567890"))
    }
}

struct TelematikIDTests {
    @Test(arguments: ["3-SMC-B-Testkarte-883110000095957", "1-HBA-Testkarte-883110000095959", "5-2-KH-APO-Waldesrand-01", "11-x", "3-a"])
    func accepts(_ text: String) throws {
        let id = try #require(TelematikID(text))
        #expect(id.rawValue == text)
        #expect(id.description == text)
    }

    @Test(arguments: [
        "", "3-", "-abc", "SMC-B-Testkarte", "3SMCB", "a3-SMC-B", "3-SMC B", "3-SMC\tB", "3-Testkarte-ä",
        String(repeating: "9", count: 127) + "-x",
    ])
    func rejects(_ text: String) {
        #expect(TelematikID(text) == nil)
    }

    @Test func allowsUpTo128Characters() {
        let longest = "3-" + String(repeating: "x", count: 126)
        #expect(TelematikID(longest)?.rawValue == longest)
        #expect(TelematikID(longest + "x") == nil)
    }
}

struct TaskCredentialTests {
    static let valid = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

    @Test func acceptsSixtyFourLowercaseHexDigits() throws {
        let credential = try #require(TaskCredential(Self.valid))
        #expect(credential.rawValue == Self.valid)
        #expect(credential.description == "credential(…)")
    }

    @Test(arguments: [
        String(valid.dropLast()),  // 63
        valid + "0",  // 65
        valid.uppercased(),
        String(valid.dropLast()) + "g",
        String(valid.dropLast()) + " ",
        "",
    ])
    func rejects(_ text: String) {
        #expect(TaskCredential(text) == nil)
    }

    @Test func encodesRandomBytesAsLowercaseHex() {
        let credential = TaskCredential(randomBytes: Array(0..<32))
        #expect(credential.rawValue == "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
        #expect(TaskCredential(randomBytes: Array(repeating: 0xFF, count: 32)).rawValue == String(repeating: "f", count: 64))
        #expect(TaskCredential(randomBytes: [0xAB, 0x0C] + Array(repeating: 0, count: 30)).rawValue.hasPrefix("ab0c00"))
        #expect(TaskCredential(credential.rawValue) == credential)
    }

    @Test func matchesOnlyTheExactString() {
        let credential = TaskCredential(Self.valid)!
        #expect(credential.matches(Self.valid))
        #expect(!credential.matches(nil))
        #expect(!credential.matches(""))
        #expect(!credential.matches(Self.valid.uppercased()))
        #expect(!credential.matches(String(Self.valid.dropLast())))
        #expect(!credential.matches(Self.valid + "0"))
        #expect(!credential.matches("1" + Self.valid.dropFirst()))
        #expect(!credential.matches(String(Self.valid.dropLast()) + "e"))
    }

    @Test func randomGeneratorMakesValidDistinctCredentials() {
        let generator = RandomIDGenerator()
        let first = generator.credential(), second = generator.credential()
        #expect(TaskCredential(first.rawValue) == first)
        #expect(first != second)
        #expect(generator.prescriptionSerial() < 1_000_000_000_000)
        let uuid = generator.uuid()
        #expect(uuid == uuid.lowercased())
        #expect(uuid.utf8.count == 36)
    }
}
