import Crypto
import Foundation
import TICrypto
import Testing
@testable import VAUProtocol

/// The VAU's ECIES with real brainpoolP256r1 keys against the known answers of
/// fd-messaging-transport §4.8: vector A is the Rust reference implementation's own test
/// (`vau/src/decrypt.rs`), B a request sealed with the ephemeral scalar 1…32.
@Suite struct VAUBrainpoolTests {
    static let serverScalar = hex("a54a5685b80f71fd5ebee91659afa98c847c5c864e2335844146675afc595e3c")

    @Test func vectorA_theServerKeyOpensTheReferenceBody() throws {
        let server = try BrainpoolP256r1.PrivateKey(rawRepresentation: Self.serverScalar)
        #expect(server.uncompressedPublicPoint == VAUKnownAnswerTests.serverPoint)
        let body = hex("01" + "754e548941e5cd073fed6d734578a484be9f0bbfa1b6fa3168ed7ffb22878f0f"
            + "9aef9bbd932a020d8828367bd080a3e72b36c41ee40c87253f9b1b0beb8371bf"
            + "257db4604af8ae0dfced37ce" + "86c2b491c7a8309e750b" + "4e6e307219863938c204dfe85502ee0a")
        let plaintext = try VAURequestBody(body).open(with: server)
        #expect(String(decoding: plaintext, as: UTF8.self) == "Hallo Test")
    }

    @Test func vectorB_aRequestSealedWithTheEphemeralScalarOneToThirtyTwo() throws {
        let ephemeral = try BrainpoolP256r1.PrivateKey(rawRepresentation: (1...32).map { UInt8($0) })
        let inner = Array("GET /metadata HTTP/1.1\r\nHost: erx.invalid\r\nAuthorization: Bearer e30.e30.AA\r\n\r\n".utf8)
        let p = VAUPlaintext.assemble(accessToken: "e30.e30.AA", requestID: "0123456789abcdef0123456789abcdef",
                                      responseKey: hex("16bac90134c635e4ec85fae0e4885d9f"), innerRequest: inner)
        let body = try VAURequestBody.seal(p, serverPoint: VAUKnownAnswerTests.serverPoint, ephemeral: ephemeral,
                                           iv: Array(repeating: 0x0c, count: 12))
        #expect(hexString(SHA256.hash(data: body)) == "7b7deaceaeffa3f5fe8d0be0593a5ed03ecd62213f46e826780218fd419acb32")
        let server = try BrainpoolP256r1.PrivateKey(rawRepresentation: Self.serverScalar)
        #expect(Array(try VAUPlaintext(VAURequestBody(body).open(with: server)).innerRequest) == inner)
    }

    @Test func aPointOffTheCurveIsTheOuterKeyError() throws {
        let server = try BrainpoolP256r1.PrivateKey()
        let body: [UInt8] = [0x01] + Array(repeating: 0x07, count: 64) + Array(repeating: 0, count: 40)
        #expect(throws: VAUError.invalidPublicKey("the point is not on brainpoolP256r1")) { try VAURequestBody(body).open(with: server) }
    }
}
