import Crypto
import Testing
@testable import VAUProtocol

/// The outer checks of a VAU request, with the production service's texts (IBM
/// `OuterTeeRequest`, `InnerTeeRequest`, `ErpTeeProtocol`; fd-messaging-transport §4.3–§4.5).
@Suite struct VAUPlaintextTests {
    static let key = "16bac90134c635e4ec85fae0e4885d9f"

    func parse(_ text: String) throws(VAUError) -> VAUPlaintext {
        try VAUPlaintext(Array(text.utf8))
    }

    @Test func aWellFormedPKeepsTheInnerRequestByteForByte() throws {
        let parsed = try parse("1 a.b.c 0A0B \(Self.key) GET / HTTP/1.1\r\n\r\n")
        #expect(parsed.accessToken == "a.b.c")
        #expect(parsed.requestID == "0a0b")  // re-encoded in lowercase, as IBM answers
        #expect(String(decoding: parsed.innerRequest, as: UTF8.self) == "GET / HTTP/1.1\r\n\r\n")
    }

    @Test(arguments: [
        ("", VAUError.malformedPlaintext("item is empty")),
        (" 1 a.b.c 00 \(key) x", .malformedPlaintext("first item has leading separator")),
        ("1  a.b.c 00 \(key) x", .malformedPlaintext("item is not separated by leading space")),
        ("1 a.b.c 00 \(key)", .malformedPlaintext("item has no end")),
        ("1 a.b.c", .malformedPlaintext("item has no end")),
        ("1 a.b 00 \(key) x", .unparsableToken),
        ("1 a.b.c 0g \(key) x", .invalidHex(element: "request-id")),
        ("1 a.b.c 00 \(key)z x", .invalidHex(element: "aes-key")),
        ("2 a.b.c 00 \(key) x", .wrongPlaintextVersion),
        ("1 a.b.c 00 0011 x", .wrongKeySize),
    ])
    func eachMalformedPIsRefusedWithTheServicesText(_ p: String, _ expected: VAUError) {
        #expect(throws: expected) { try parse(p) }
    }

    @Test func theOuterLayoutIsCheckedLengthFirstThenVersion() {
        #expect(throws: VAUError.bodyTooShort) { try VAURequestBody(Array(repeating: 1, count: 92)) }
        #expect(throws: VAUError.invalidVersion) { try VAURequestBody([0x02] + Array(repeating: 0, count: 92)) }
        #expect(VAUError.bodyTooShort.text == "vau decryption failed: ErpException body is too short to be a outer request body")
        #expect(VAUError.unparsableToken.status == 401)
    }

    @Test func aTamperedCiphertextIsTheGCMError() throws {
        let key = SymmetricKey(size: .bits128)
        var sealed = try VAUCipher.seal(Array("p".utf8), key: key)
        sealed[13] ^= 1
        #expect(throws: VAUError.decryptionFailed) { try VAUCipher.open(sealed, key: key) }
    }
}
