import Foundation
import TICrypto
import Testing

/// Published brainpoolP256r1 values, so a wrong curve, a wrong byte order or an unpadded coordinate
/// cannot pass by agreeing with itself.
@Suite struct BrainpoolKnownAnswerTests {
    /// RFC 7027 Appendix A.1 ("Curve brainpoolP256r1"): the two parties' scalars, their public
    /// points, and the x-coordinate of the shared point (the premaster secret of TLS ECDH).
    enum RFC7027 {
        static let dA = "81DB1EE100150FF2EA338D708271BE38300CB54241D79950F77B063039804F1D"
        static let xqA = "44106E913F92BC02A1705D9953A8414DB95E1AAA49E81D9E85F929A8E3100BE5"
        static let yqA = "8AB4846F11CACCB73CE49CBDD120F5A900A69FD32C272223F789EF10EB089BDC"
        static let dB = "55E40BC41E37E3E2AD25C3C6654511FFA8474A91A0032087593852D3E7D76BD3"
        static let xqB = "8D2D688C6CF93E1160AD04CC4429117DC2C41825E1E9FCA0ADDD34E6F1B39F7B"
        static let yqB = "990C57520812BE512641E47034832106BC7D3E8DD0E4C7F1136D7006547CEC6A"
        static let xZ = "89AFC39D41D3B327814B80940B042590F96556EC91E6AE7939BCE31F3A18BF2B"
    }

    @Test("RFC 7027 A.1: the public points of dA and dB")
    func publicPointsOfTheRFCScalars() throws {
        let a = try BrainpoolP256r1.PrivateKey(rawRepresentation: hex(RFC7027.dA))
        let b = try BrainpoolP256r1.PrivateKey(rawRepresentation: hex(RFC7027.dB))
        #expect(a.publicKey.x963Representation == hex("04" + RFC7027.xqA + RFC7027.yqA))
        #expect(b.publicKey.x963Representation == hex("04" + RFC7027.xqB + RFC7027.yqB))
        #expect(a.rawRepresentation == hex(RFC7027.dA))
    }

    @Test("RFC 7027 A.1: both sides derive x_Z")
    func sharedSecretOfTheRFCVector() throws {
        let a = try BrainpoolP256r1.PrivateKey(rawRepresentation: hex(RFC7027.dA))
        let b = try BrainpoolP256r1.PrivateKey(rawRepresentation: hex(RFC7027.dB))
        let qA = try BrainpoolP256r1.PublicKey(x963Representation: hex("04" + RFC7027.xqA + RFC7027.yqA))
        let qB = try BrainpoolP256r1.PublicKey(x963Representation: hex("04" + RFC7027.xqB + RFC7027.yqB))
        #expect(try a.sharedSecret(with: qB) == hex(RFC7027.xZ))
        #expect(try b.sharedSecret(with: qA) == hex(RFC7027.xZ))
    }

    /// fd-messaging-transport §4.8 A: the VAU decryption vector of gematik's reference server
    /// (ref-eRp-FD-Server `vau/src/decrypt.rs`): the server's scalar and point, the client's
    /// ephemeral point from the request body, and the ECDH x-coordinate.
    @Test("VAU vector A (ref-eRp-FD-Server decrypt.rs): server key and ECDH with the request's point")
    func vauDecryptionVector() throws {
        let server = try BrainpoolP256r1.PrivateKey(rawRepresentation: hex("a54a5685b80f71fd5ebee91659afa98c847c5c864e2335844146675afc595e3c"))
        #expect(server.publicKey.x963Representation == hex(
            "048634212830dad457ca05305e6687134166b9c21a65ffebf555f4e75dfb04888866e4b6843624cbda43c97ea89968bc41fd53576f82c03efa7d601b9facac2b29"))
        let ephemeral = try BrainpoolP256r1.PublicKey(x963Representation: hex(
            "04754e548941e5cd073fed6d734578a484be9f0bbfa1b6fa3168ed7ffb22878f0f9aef9bbd932a020d8828367bd080a3e72b36c41ee40c87253f9b1b0beb8371bf"))
        #expect(try server.sharedSecret(with: ephemeral) == hex("9656c2b4b3da81d0385f6a1ee60e93b91828fd90231c923d53ce7bbbcd58ceaa"))
    }

    /// fd-messaging-transport §4.8 B: a client's ephemeral scalar 01…20 against the server key of A.
    @Test("VAU vector B: the client's ephemeral point and secret")
    func vauEncryptionVector() throws {
        let ephemeral = try BrainpoolP256r1.PrivateKey(rawRepresentation: (1...32).map { UInt8($0) })
        #expect(ephemeral.publicKey.x963Representation == hex(
            "044e366cf3c8a982e423831d6715e722acf03cab8452e3c64d1e3b038caf87fc48387a044328d34ce4eb16c6c885b8b82be2584c18b28fc38143cbbf2b9b3520f9"))
        let server = try BrainpoolP256r1.PublicKey(x963Representation: hex(
            "048634212830dad457ca05305e6687134166b9c21a65ffebf555f4e75dfb04888866e4b6843624cbda43c97ea89968bc41fd53576f82c03efa7d601b9facac2b29"))
        #expect(try ephemeral.sharedSecret(with: server) == hex("9b101b4545bd0266a49c542d77a10813df8318ec26c8a4774fd2d547aa2cb7b0"))
    }

    @Test("A key survives PKCS#8, SEC1-from-raw, SPKI and PEM round trips")
    func roundTrips() throws {
        let key = try BrainpoolP256r1.PrivateKey()
        #expect(try BrainpoolP256r1.PrivateKey(derRepresentation: key.derRepresentation).rawRepresentation == key.rawRepresentation)
        #expect(try BrainpoolP256r1.PrivateKey(pemRepresentation: key.pemRepresentation).publicKey == key.publicKey)
        #expect(try BrainpoolP256r1.PrivateKey(rawRepresentation: key.rawRepresentation).publicKey == key.publicKey)
        #expect(try BrainpoolP256r1.PublicKey(derRepresentation: key.publicKey.derRepresentation) == key.publicKey)
        #expect(try BrainpoolP256r1.PublicKey(pemRepresentation: key.publicKey.pemRepresentation) == key.publicKey)
        #expect(!key.description.contains(key.rawRepresentation.map { String(format: "%02x", $0) }.joined()))
    }

    @Test("Raw and DER signatures are the same (r, s), and verify")
    func signatureForms() throws {
        let key = try BrainpoolP256r1.PrivateKey()
        let message = Data("eyJhbGciOiJCUDI1NlIxIn0.e30".utf8)
        let signature = try key.signature(for: message)
        #expect(signature.rawRepresentation.count == 64)
        let again = try BrainpoolP256r1.ECDSASignature(derRepresentation: signature.derRepresentation)
        #expect(again == signature)
        #expect(key.publicKey.isValidSignature(try .init(rawRepresentation: signature.rawRepresentation), for: message))
        #expect(!key.publicKey.isValidSignature(signature, for: Data("eyJhbGciOiJCUDI1NlIxIn0.e31".utf8)))
    }
}

func hex(_ text: String) -> Data {
    var bytes = [UInt8]()
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return Data(bytes)
}
