import Foundation
import JWTKit

extension TokenPolicy {
    /// The one check of the claims, whatever signed them (fd-messaging-transport §3.2 steps 4–5):
    /// `aud` (A_20370), then `exp` (`now > exp` is expired, so `now == exp` still passes), then
    /// `iat`/`nbf` in the future beyond the skew and the lifetime (all "JWT expired", as the FD).
    func check(_ claims: AccessTokenClaims, at now: Date) throws(RequestError) {
        if let audience, claims.aud?.value != [audience] { throw .unauthenticated(.invalidAudience) }
        guard claims.exp.value >= now, admits(claims, at: now) else { throw .unauthenticated(.expired) }
    }

    /// Whether the claims' `iat`, `nbf` and lifetime are within the policy at `now`.
    func admits(_ claims: AccessTokenClaims, at now: Date) -> Bool {
        let latest = now.addingTimeInterval(clockSkew)
        if let issued = claims.iat?.value, issued > latest { return false }
        if let notBefore = claims.nbf?.value, notBefore > latest { return false }
        let start = min(claims.iat?.value ?? now, now)
        return claims.exp.value.timeIntervalSince(start) <= maximumLifetime
    }
}

/// The form of an ES256 compact JWS that the server takes, checked before the signature: the
/// header names ES256 (the only algorithm of our keys) and no `crit` extension (we understand
/// none, RFC 7515 §4.1.11), and the signature is the 64-byte `r‖s` with `s` in the lower half of
/// the group order. ECDSA admits both `s` and `n − s` for one message; taking only the low one makes
/// a token's bytes the only form of it (no second, equally valid token to replay past a cache or
/// a deny list).
enum TokenForm {
    /// The order `n` of P-256, big-endian.
    static let order: [UInt8] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
    ]
    /// `n / 2`, rounded down: the largest low `s`.
    static let halfOrder: [UInt8] = {
        var result = [UInt8](repeating: 0, count: 32)
        var carry: UInt8 = 0
        for index in 0..<32 {
            result[index] = (order[index] >> 1) | (carry << 7)
            carry = order[index] & 1
        }
        return result
    }()

    /// The JSON object of a JWS header part, or `nil`.
    static func header(_ part: Substring) -> [String: Any]? {
        guard let data = base64URLDecoded(part) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    static func isAcceptable(_ token: String) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let header = base64URLDecoded(parts[0]), let signature = base64URLDecoded(parts[2]),
              let fields = try? JSONSerialization.jsonObject(with: header) as? [String: Any]
        else { return false }
        guard fields["alg"] as? String == "ES256", fields["crit"] == nil else { return false }
        return signature.count == 64 && !isGreater(Array(signature[32...]), than: halfOrder)
    }

    /// The token with its signature's `s` replaced by `n − s` where it is high (both verify).
    static func lowS(_ token: String) -> String {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, var signature = base64URLDecoded(parts[2]).map(Array.init), signature.count == 64 else { return token }
        let s = Array(signature[32...])
        guard isGreater(s, than: halfOrder) else { return token }
        signature.replaceSubrange(32..., with: subtract(s, from: order))
        return "\(parts[0]).\(parts[1]).\(base64URLEncoded(signature))"
    }

    /// Big-endian comparison of two 32-byte numbers.
    static func isGreater(_ a: [UInt8], than b: [UInt8]) -> Bool {
        for (x, y) in zip(a, b) where x != y { return x > y }
        return false
    }

    /// `a − b` for 32-byte big-endian numbers with `a ≥ b`.
    static func subtract(_ b: [UInt8], from a: [UInt8]) -> [UInt8] {
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

    static func base64URLDecoded(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }

    static func base64URLEncoded(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
