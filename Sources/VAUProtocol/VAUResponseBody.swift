public import Crypto

/// The answer inside the tunnel (fd-messaging-transport §4.6; IBM `InnerTeeResponse`,
/// `OuterTeeResponse`): `a = "1" SP request-id SP inner-HTTP-response`, sent as
/// `IV ‖ AES-128-GCM(response key, a) ‖ tag`.
public enum VAUResponseBody {
    /// Seals the inner answer for the client (A_20163 steps 8–9).
    public static func seal(innerResponse: [UInt8], requestID: String, key: SymmetricKey, iv: [UInt8]? = nil) throws -> [UInt8] {
        try VAUCipher.seal(Array("1 \(requestID) ".utf8) + innerResponse, key: key, iv: iv)
    }

    /// The client's side (A_20174): decrypts, checks that `a` starts with `1 ` and *its* request
    /// id, and returns the inner HTTP response. The prefix is stripped, not split on spaces.
    public static func open(_ body: [UInt8], requestID: String, key: SymmetricKey) throws -> [UInt8] {
        let a = try VAUCipher.open(body, key: key)
        let prefix = Array("1 \(requestID.lowercased()) ".utf8)
        guard a.starts(with: prefix) else { throw VAUResponseError.requestIDMismatch }
        return Array(a[prefix.count...])
    }
}

/// A client's refusal of an answer that is not the answer to its request.
public enum VAUResponseError: Error, Sendable {
    case requestIDMismatch
}
