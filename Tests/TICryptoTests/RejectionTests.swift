import Foundation
import StoreTestSupport
import TICrypto
import Testing

/// What must not be taken for a brainpoolP256r1 key, point, signature or certificate.
@Suite struct BrainpoolRejectionTests {
    typealias RFC7027 = BrainpoolKnownAnswerTests.RFC7027
    /// The field prime p of brainpoolP256r1 (RFC 5639 §3.4).
    static let p = "A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377"
    /// The group order n (RFC 5639 §3.4).
    static let n = "A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7"

    @Test("Points off the curve, at infinity, compressed, of a wrong length or with x ≥ p are refused")
    func invalidPoints() throws {
        let valid = hex("04" + RFC7027.xqA + RFC7027.yqA)
        #expect(throws: Never.self) { try BrainpoolP256r1.PublicKey(x963Representation: valid) }
        var offCurve = valid
        offCurve[64] ^= 0x01
        let cases: [Data] = [
            offCurve,
            Data([0x04] + [UInt8](repeating: 0, count: 64)),
            Data([0x00]),
            hex("02" + RFC7027.xqA),
            valid.dropLast(),
            valid + [0x00],
            hex("04" + Self.p + RFC7027.yqA),
            hex("05" + RFC7027.xqA + RFC7027.yqA),
        ]
        for point in cases {
            #expect(throws: BrainpoolError.invalidPoint) { try BrainpoolP256r1.PublicKey(x963Representation: point) }
        }
    }

    @Test("Scalars 0, n, n+1 and of 31 or 33 bytes are refused")
    func invalidScalars() throws {
        let nPlusOne = hex(Self.n.dropLast(2) + "A8")
        for scalar in [Data(count: 32), hex(Self.n), nPlusOne, Data(count: 30) + [1], Data(count: 32) + [1]] {
            #expect(throws: BrainpoolError.self, "\(scalar.map { String(format: "%02x", $0) }.joined())") { try BrainpoolP256r1.PrivateKey(rawRepresentation: scalar) }
        }
        #expect(throws: Never.self) { try BrainpoolP256r1.PrivateKey(rawRepresentation: hex(Self.n.dropLast(2) + "A6")) }
    }

    @Test("Keys and certificates of other curves or algorithms are wrongCurve; explicit parameters too")
    func wrongCurves() throws {
        for arguments in [["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1"], ["genpkey", "-algorithm", "ED25519"],
                          ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP256t1"]] {
            let pem = try ProcessLaunch.openssl(arguments)
            #expect(pem.status == 0)
            let privatePEM = String(decoding: pem.output, as: UTF8.self)
            #expect(throws: BrainpoolError.wrongCurve) { try BrainpoolP256r1.PrivateKey(pemRepresentation: privatePEM) }
            let publicPEM = try ProcessLaunch.openssl(["pkey", "-pubout"], stdin: pem.output)
            #expect(throws: BrainpoolError.wrongCurve) {
                try BrainpoolP256r1.PublicKey(pemRepresentation: String(decoding: publicPEM.output, as: UTF8.self))
            }
        }
        let explicit = try ProcessLaunch.openssl(["ecparam", "-name", "brainpoolP256r1", "-genkey", "-noout", "-param_enc", "explicit"])
        #expect(explicit.status == 0)
        #expect(throws: BrainpoolError.wrongCurve) { try BrainpoolP256r1.PrivateKey(pemRepresentation: String(decoding: explicit.output, as: UTF8.self)) }
        let p256 = try ProcessLaunch.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                              "-keyout", "/dev/null", "-subj", "/CN=p256", "-days", "1"])
        #expect(p256.status == 0)
        #expect(throws: BrainpoolError.wrongCurve) { try BrainpoolP256r1.Certificate(pemRepresentation: String(decoding: p256.output, as: UTF8.self)) }
    }

    @Test("Malformed DER and PEM: truncated, trailing bytes, garbage, no armour")
    func malformedEncodings() throws {
        let key = try BrainpoolP256r1.PrivateKey()
        let spki = key.publicKey.derRepresentation
        let pkcs8 = key.derRepresentation
        for der in [spki.dropLast(), spki + [0x00], Data([0x30, 0x03, 0x02, 0x01]), Data()] {
            #expect(throws: BrainpoolError.malformedKey) { try BrainpoolP256r1.PublicKey(derRepresentation: der) }
        }
        for der in [pkcs8.dropLast(), pkcs8 + [0x00], Data("not a key".utf8)] {
            #expect(throws: BrainpoolError.malformedKey) { try BrainpoolP256r1.PrivateKey(derRepresentation: der) }
        }
        #expect(throws: BrainpoolError.malformedKey) { try BrainpoolP256r1.PublicKey(pemRepresentation: spki.base64EncodedString()) }
        #expect(throws: BrainpoolError.malformedKey) { try BrainpoolP256r1.PrivateKey(pemRepresentation: key.publicKey.pemRepresentation) }
        let certificate = try BrainpoolP256r1.Certificate.selfSigned(key: key, commonName: "x")
        for der in [certificate.derRepresentation.dropLast(), certificate.derRepresentation + [0x00], spki] {
            #expect(throws: BrainpoolError.malformedCertificate) { try BrainpoolP256r1.Certificate(derRepresentation: der) }
        }
    }

    @Test("Signatures of 63 or 65 bytes, non-strict DER and tampered ones are refused")
    func invalidSignatures() throws {
        let key = try BrainpoolP256r1.PrivateKey()
        let message = Data("m".utf8)
        let signature = try key.signature(for: message)
        for length in [0, 63, 65] {
            #expect(throws: BrainpoolError.malformedSignature) { try BrainpoolP256r1.ECDSASignature(rawRepresentation: Data(count: length)) }
        }
        // r = 1 padded with a needless zero byte: BER, not DER.
        #expect(throws: BrainpoolError.malformedSignature) {
            try BrainpoolP256r1.ECDSASignature(derRepresentation: Data([0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01]))
        }
        // r of 33 significant bytes cannot be a brainpoolP256r1 signature.
        #expect(throws: BrainpoolError.malformedSignature) {
            try BrainpoolP256r1.ECDSASignature(derRepresentation: Data([0x30, 0x26, 0x02, 0x21, 0x01] + [UInt8](repeating: 0, count: 32) + [0x02, 0x01, 0x01]))
        }
        var raw = signature.rawRepresentation
        raw[10] ^= 0x80
        #expect(!key.publicKey.isValidSignature(try .init(rawRepresentation: raw), for: message))
        #expect(!(try BrainpoolP256r1.PrivateKey()).publicKey.isValidSignature(signature, for: message))
        #expect(!key.publicKey.isValidSignature(try .init(rawRepresentation: Data(count: 64)), for: message))
    }
}
