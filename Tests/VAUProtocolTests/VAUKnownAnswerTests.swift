import Crypto
import Foundation
import Testing
@testable import VAUProtocol

/// Known answers for everything after the ECDH (fd-messaging-transport §4.8, computed with Python
/// `cryptography` on OpenSSL; vector A is the Rust reference implementation's own unit test,
/// `vau/src/decrypt.rs`). The ECDH itself is checked against the same vectors with real
/// brainpoolP256r1 keys in `VAUBrainpoolTests`; here a key agreement that only knows the vector's
/// answer stands in, and refuses any other point, so the test still fails if the layout is wrong.
@Suite struct VAUKnownAnswerTests {
    struct VectorKey: VAUServerKeyAgreement, VAUEphemeralKeyAgreement {
        let expectedPeer: [UInt8]
        let secret: [UInt8]
        var uncompressedPublicPoint: [UInt8] = []
        struct WrongPoint: Error {}
        func sharedSecret(withUncompressedPoint point: [UInt8]) throws -> [UInt8] {
            guard point == expectedPeer else { throw WrongPoint() }
            return secret
        }
    }

    static let serverPoint = hex("04" + "8634212830dad457ca05305e6687134166b9c21a65ffebf555f4e75dfb048888"
        + "66e4b6843624cbda43c97ea89968bc41fd53576f82c03efa7d601b9facac2b29")

    @Test func vectorA_decryptsTheReferenceImplementationsBody() throws {
        let x = "754e548941e5cd073fed6d734578a484be9f0bbfa1b6fa3168ed7ffb22878f0f"
        let y = "9aef9bbd932a020d8828367bd080a3e72b36c41ee40c87253f9b1b0beb8371bf"
        let body = hex("01" + x + y + "257db4604af8ae0dfced37ce" + "86c2b491c7a8309e750b" + "4e6e307219863938c204dfe85502ee0a")
        #expect(body.count == 103)
        let secret = hex("9656c2b4b3da81d0385f6a1ee60e93b91828fd90231c923d53ce7bbbcd58ceaa")
        let key = VAUCipher.contentKey(sharedSecret: secret)
        #expect(key.withUnsafeBytes { Array($0) } == hex("23977ba552a21363916af9b5147c83d4"))
        let request = try VAURequestBody(body)
        let plaintext = try request.open(with: VectorKey(expectedPeer: hex("04" + x + y), secret: secret))
        #expect(String(decoding: plaintext, as: UTF8.self) == "Hallo Test")
    }

    @Test func vectorB_sealsARequestAsTheClient() throws {
        let ephemeralPoint = hex("04" + "4e366cf3c8a982e423831d6715e722acf03cab8452e3c64d1e3b038caf87fc48"
            + "387a044328d34ce4eb16c6c885b8b82be2584c18b28fc38143cbbf2b9b3520f9")
        let secret = hex("9b101b4545bd0266a49c542d77a10813df8318ec26c8a4774fd2d547aa2cb7b0")
        #expect(VAUCipher.contentKey(sharedSecret: secret).withUnsafeBytes { Array($0) } == hex("bfe376a37bc935f6953296362207b640"))
        let inner = Array("GET /metadata HTTP/1.1\r\nHost: erx.invalid\r\nAuthorization: Bearer e30.e30.AA\r\n\r\n".utf8)
        let p = VAUPlaintext.assemble(accessToken: "e30.e30.AA", requestID: "0123456789abcdef0123456789abcdef",
                                      responseKey: hex("16bac90134c635e4ec85fae0e4885d9f"), innerRequest: inner)
        #expect(p.count == 158)
        let ephemeral = VectorKey(expectedPeer: Self.serverPoint, secret: secret, uncompressedPublicPoint: ephemeralPoint)
        let body = try VAURequestBody.seal(p, serverPoint: Self.serverPoint, ephemeral: ephemeral, iv: Array(repeating: 0x0c, count: 12))
        #expect(body.count == 251)
        #expect(Array(body[77..<93]) == hex("b1c7e789681a24a0c57c78873fff13ab"))
        #expect(Array(body.suffix(16)) == hex("95296f51421758c05aeefd1f0f1e0423"))
        #expect(hexString(SHA256.hash(data: body)) == "7b7deaceaeffa3f5fe8d0be0593a5ed03ecd62213f46e826780218fd419acb32")

        // And the server reads it back into its five items.
        let opened = try VAURequestBody(body).open(with: VectorKey(expectedPeer: ephemeralPoint, secret: secret))
        let parsed = try VAUPlaintext(opened)
        #expect(parsed.accessToken == "e30.e30.AA")
        #expect(parsed.requestID == "0123456789abcdef0123456789abcdef")
        #expect(Array(parsed.innerRequest) == inner)
    }

    @Test func vectorC_sealsTheAnswer() throws {
        let key = SymmetricKey(data: hex("16bac90134c635e4ec85fae0e4885d9f"))
        let inner = Array("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n".utf8)
        let body = try VAUResponseBody.seal(innerResponse: inner, requestID: "b69f01734f34376ddcdbdbe9af18a06f", key: key,
                                            iv: hex("000102030405060708090a0b"))
        #expect(body.count == 109)
        #expect(body == hex("000102030405060708090a0b"
            + "26cc885d2d2bcf5c03d0fe6e6f6c8277c148217c04179517388baaa728298496ee23cb57cd543f2454e7e1fea442121ead428298ba12eb35c118d29d5f38eed08843d20ebbfe78307af020beef0393e2c5"
            + "257f570a80ef57e7e2ad22c64531c420"))
        #expect(try VAUResponseBody.open(body, requestID: "b69f01734f34376ddcdbdbe9af18a06f", key: key) == inner)
        // A_20174: an answer to another request id is refused.
        #expect(throws: VAUResponseError.self) {
            try VAUResponseBody.open(body, requestID: "b69f01734f34376ddcdbdbe9af18a06e", key: key)
        }
    }
}

func hex(_ text: String) -> [UInt8] {
    VAUPlaintext.hex(ArraySlice(text.utf8))!
}

func hexString(_ bytes: some Sequence<UInt8>) -> String {
    VAUPlaintext.hexString(bytes)
}
