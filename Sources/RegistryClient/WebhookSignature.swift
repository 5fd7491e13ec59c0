public import Crypto
public import Foundation

/// The signature of a webhook delivery, made by the relay and checked by receivers (the simulator's
/// receiving endpoint, and every real one):
///
/// ```
/// X-Erx-Timestamp: <Unix seconds when the attempt was sent>
/// X-Erx-Signature: sha256=<lowercase hex of HMAC-SHA256(key: UTF-8 of the subscription secret,
///                                                        message: "<timestamp>." + body bytes)>
/// ```
/// The timestamp is signed with the body so a receiver can refuse replays older than it tolerates
/// (five minutes, say); each attempt gets a fresh one, the body and `Idempotency-Key` stay the same.
public enum WebhookSignature {
    public static let signatureHeader = "X-Erx-Signature"
    public static let timestampHeader = "X-Erx-Timestamp"

    public static func sign(body: [UInt8], timestamp: Int64, secret: String) -> String {
        var message = Array("\(timestamp).".utf8)
        message.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Compares in constant time (HMAC's own comparison), so a forger learns nothing from timing.
    public static func verify(_ header: String, body: [UInt8], timestamp: Int64, secret: String) -> Bool {
        guard header.hasPrefix("sha256="), let expected = hexBytes(String(header.dropFirst(7))) else { return false }
        var message = Array("\(timestamp).".utf8)
        message.append(contentsOf: body)
        return HMAC<SHA256>.isValidAuthenticationCode(expected, authenticating: message, using: SymmetricKey(data: Array(secret.utf8)))
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
