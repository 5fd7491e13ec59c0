import FHIRModel
import Foundation
import Testing

/// The hand-written lexical rules agree with the R4 regular expressions in the generated table.
struct PrimitiveTypeTests {
    static let samples = [
        "true", "false", "True", "0", "-0", "1", "01", "-1", "+1", "2147483647", "2147483648", "-2147483648", "-2147483649",
        "1.50", "-0.0", "6.02E23", "1e-7", "1.", ".5", "1.5e", "0x10",
        "2025", "2025-01", "2025-01-15", "2025-13-01", "2025-1-15", "0000", "2025-01-32", "2025-01-15T10:00:00Z",
        "2025-01-15T10:00:00+01:00", "2025-01-15T10:00:00", "2025-01-15T24:00:00Z", "2025-01-15T10:00:00.123+14:00",
        "2025-01-15T10:00:00+14:30", "2025-01-15T10:00", "10:00:00", "10:00", "23:59:60.5",
        "abc", "a b", " a", "a ", "a  b", "a\tb", "",
        "urn:oid:1.2.276.0.76.4.54", "urn:oid:3.1", "urn:oid:1.02", "urn:uuid:a5b1c2d3-0000-4000-8000-000000000001",
        "urn:uuid:A5B1C2D3-0000-4000-8000-000000000001", "http://x y", "http://x",
        "abc.-DEF", String(repeating: "a", count: 64), String(repeating: "a", count: 65), "a_b",
        "QUJD", "QUJDRA==", "QUJDR", "QU JD", "QUJD+/==", "QU=D",
    ]

    @Test(arguments: PrimitiveType.allCases.filter { ![.xhtml, .string, .markdown, .base64Binary, .integer, .positiveInt, .unsignedInt].contains($0) })
    func agreesWithTheR4Regex(_ type: PrimitiveType) throws {
        let definition = try #require(R4CoreDefinitions.shared.type(named: type.rawValue))
        let pattern = try #require(definition.valueRegex)
        let regex = try NSRegularExpression(pattern: "^(?:\(pattern))$")
        // The R4 `\S*` patterns admit "", but FHIR forbids empty values everywhere; we refuse them.
        for sample in Self.samples where !sample.isEmpty {
            let matches = regex.firstMatch(in: sample, range: NSRange(sample.startIndex..., in: sample)) != nil
            #expect(type.isValid(sample) == matches, "\(type.rawValue): '\(sample)'")
        }
    }

    @Test func integersAreThirtyTwoBitWithoutLeadingZeros() {
        #expect(PrimitiveType.integer.isValid("-2147483648"))
        #expect(!PrimitiveType.integer.isValid("2147483648"))
        #expect(!PrimitiveType.integer.isValid("01"))
        #expect(!PrimitiveType.integer.isValid("-0"))
        #expect(!PrimitiveType.positiveInt.isValid("0"))
        #expect(PrimitiveType.unsignedInt.isValid("0"))
    }

    @Test func emptyValuesAreNeverValid() {
        for type in PrimitiveType.allCases { #expect(!type.isValid(""), "\(type)") }
    }

    @Test func stringsRefuseControlCharactersXMLCannotCarry() {
        #expect(PrimitiveType.string.isValid("tab\tnewline\n"))
        #expect(!PrimitiveType.string.isValid("bell\u{07}"))
        #expect(!PrimitiveType.string.isValid(""))
        #expect(PrimitiveType.string.isValid("non\u{00A0}breaking"))
    }

    @Test func base64AcceptsTheStandardAlphabetWithPadding() {
        #expect(PrimitiveType.base64Binary.isValid("QUJD+/8="))
        #expect(PrimitiveType.base64Binary.isValid("QUJD\nRA=="))
        #expect(!PrimitiveType.base64Binary.isValid("QUJ"))
        #expect(!PrimitiveType.base64Binary.isValid("QU=D"))
        #expect(!PrimitiveType.base64Binary.isValid("FakeData"+"!"))
    }

    @Test func everyTypeOfTheTableIsKnown() {
        let primitives = R4CoreDefinitions.shared.types.filter { $0.kind == .primitive }
        #expect(Set(primitives.compactMap(\.primitive)) == Set(PrimitiveType.allCases))
        // 145 concrete resources plus the abstract Resource and DomainResource.
        #expect(R4CoreDefinitions.shared.types.filter { $0.kind == .resource }.count == 147)
        #expect(R4CoreDefinitions.shared.resourceIndex("DomainResource") == nil)
        #expect(R4CoreDefinitions.shared.resourceIndex("MedicationDispense") != nil)
    }
}
