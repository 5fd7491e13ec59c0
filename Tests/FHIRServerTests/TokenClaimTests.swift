import Crypto
import Dispensing
import FHIRServer
import Foundation
import Testing

/// Issue 19, item 5: a token is refused for more than a bad signature or `exp`: `nbf`/`iat` in the
/// future, a header `alg` other than ES256, an unknown `crit`, a lifetime over the maximum, and a
/// high-S signature. Tokens are signed here by hand with the development key read from its PEM file,
/// so each case differs from a good token in exactly one respect.
@Suite struct TokenClaimTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-tokens-\(UUID().uuidString)")
    let pharmacyOID = "1.2.276.0.76.4.54"
    let telematikID = "3-SMC-B-Testkarte-883110000095957"

    /// The P-256 order n, for turning a low `s` into the high `n − s` that verifies as well.
    static let order: [UInt8] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
    ]

    private func setUp() async throws -> (AccessTokenVerifier, P256.Signing.PrivateKey, DevelopmentSigningKey) {
        let key = try DevelopmentSigningKey.loadOrCreate(in: directory)
        let pem = try String(contentsOf: directory.appendingPathComponent(DevelopmentSigningKey.fileName), encoding: .utf8)
        let verifier = await AccessTokenVerifier.development(key, policy: TokenPolicy(clockSkew: 60, maximumLifetime: 24 * 3600))
        return (verifier, try P256.Signing.PrivateKey(pemRepresentation: pem), key)
    }

    private static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    private static func isHigh(_ s: [UInt8]) -> Bool {
        // s > n/2 ⟺ 2s > n: compare s with n − s.
        let other = subtract(s, from: order)
        for (x, y) in zip(s, other) where x != y { return x > y }
        return false
    }

    private static func subtract(_ b: [UInt8], from a: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: 32)
        var borrow = 0
        for index in stride(from: 31, through: 0, by: -1) {
            var value = Int(a[index]) - Int(b[index]) - borrow
            borrow = value < 0 ? 1 : 0
            if value < 0 { value += 256 }
            result[index] = UInt8(value)
        }
        return result
    }

    /// A compact JWS over `header` and `claims`, with its `s` made high or low as asked.
    private func token(_ key: P256.Signing.PrivateKey, header: [String: Any] = ["alg": "ES256", "kid": "erx-dev", "typ": "JWT"],
                       claims: [String: Any], highS: Bool = false) throws -> String {
        let input = Self.base64URL(try JSONSerialization.data(withJSONObject: header)) + "."
            + Self.base64URL(try JSONSerialization.data(withJSONObject: claims))
        var signature = Array(try key.signature(for: Data(input.utf8)).rawRepresentation)
        let s = Array(signature[32...])
        if Self.isHigh(s) != highS { signature.replaceSubrange(32..., with: Self.subtract(s, from: Self.order)) }
        return input + "." + Self.base64URL(Data(signature))
    }

    private func claims(iat: TimeInterval? = 0, nbf: TimeInterval? = nil, exp: TimeInterval = 300) -> [String: Any] {
        let now = Date().timeIntervalSince1970
        var claims: [String: Any] = ["professionOID": pharmacyOID, "idNummer": telematikID, "exp": Int(now + exp)]
        if let iat { claims["iat"] = Int(now + iat) }
        if let nbf { claims["nbf"] = Int(now + nbf) }
        return claims
    }

    @Test func aWellFormedTokenIsAcceptedInBothOfItsLowAndNotItsHighForm() async throws {
        let (verifier, key, _) = try await setUp()
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = try token(key, claims: claims())
        #expect(try await verifier.caller(authorization: "Bearer \(good)").telematikID?.rawValue == telematikID)
        let high = try token(key, claims: claims(), highS: true)
        await #expect(throws: RequestError.unauthenticated(.invalidSignature)) { try await verifier.caller(authorization: "Bearer \(high)") }
    }

    @Test func issuedOrValidOnlyInTheFutureIsRefused() async throws {
        let (verifier, key, _) = try await setUp()
        defer { try? FileManager.default.removeItem(at: directory) }
        for refused in [claims(iat: 600), claims(nbf: 600)] {
            let future = try token(key, claims: refused)
            await #expect(throws: RequestError.unauthenticated(.expired)) { try await verifier.caller(authorization: "Bearer \(future)") }
        }
        // Within the skew: accepted.
        let skewed = try token(key, claims: claims(iat: 30, nbf: 30))
        #expect(try await verifier.caller(authorization: "Bearer \(skewed)").profession == .publicPharmacy)
    }

    @Test func anotherAlgorithmOrAnUnknownCritIsRefused() async throws {
        let (verifier, key, _) = try await setUp()
        defer { try? FileManager.default.removeItem(at: directory) }
        for header: [String: Any] in [
            ["alg": "ES384", "kid": "erx-dev"], ["alg": "none", "kid": "erx-dev"], ["kid": "erx-dev"],
            ["alg": "ES256", "kid": "erx-dev", "crit": ["exp"]], ["alg": "ES256", "kid": "erx-dev", "crit": ["x-unknown"], "x-unknown": 1],
        ] {
            let odd = try token(key, header: header, claims: claims())
            await #expect(throws: RequestError.unauthenticated(.invalidSignature), "\(header)") { try await verifier.caller(authorization: "Bearer \(odd)") }
        }
    }

    @Test func aLifetimeOverTheMaximumIsRefused() async throws {
        let (verifier, key, _) = try await setUp()
        defer { try? FileManager.default.removeItem(at: directory) }
        let long = try token(key, claims: claims(exp: 25 * 3600))
        await #expect(throws: RequestError.unauthenticated(.expired)) { try await verifier.caller(authorization: "Bearer \(long)") }
        let noIssued = try token(key, claims: claims(iat: nil, exp: 25 * 3600))
        await #expect(throws: RequestError.unauthenticated(.expired)) { try await verifier.caller(authorization: "Bearer \(noIssued)") }
        let atMaximum = try token(key, claims: claims(exp: 24 * 3600 - 5))
        #expect(try await verifier.caller(authorization: "Bearer \(atMaximum)").profession == .publicPharmacy)
    }

    /// `erx token` signs with the same key: its tokens are always in the low-S form.
    @Test func developmentTokensAreAlwaysLowS() async throws {
        let (verifier, _, key) = try await setUp()
        defer { try? FileManager.default.removeItem(at: directory) }
        for _ in 0..<16 {
            let issued = try await key.token(profession: pharmacyOID, idNummer: telematikID)
            let parts = issued.split(separator: ".")
            var base64 = String(parts[2]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
            let signature = try #require(Data(base64Encoded: base64))
            #expect(!Self.isHigh(Array(signature[32...])))
            #expect(try await verifier.caller(authorization: "Bearer \(issued)").profession == .publicPharmacy)
        }
    }

    /// `organizationName` names the institution in the ePA Organization of its transfers (A_25947);
    /// a token without it, or with an empty one, names none.
    @Test func theOrganizationNameIsTakenFromTheToken() async throws {
        let (verifier, key, _) = try await setUp()
        defer { try? FileManager.default.removeItem(at: directory) }
        var named = claims()
        named["organizationName"] = "Apotheke am Markt"
        #expect(try await verifier.caller(authorization: "Bearer \(try token(key, claims: named))").name == "Apotheke am Markt")
        named["organizationName"] = ""
        #expect(try await verifier.caller(authorization: "Bearer \(try token(key, claims: named))").name == nil)
        #expect(try await verifier.caller(authorization: "Bearer \(try token(key, claims: claims()))").name == nil)
    }
}
