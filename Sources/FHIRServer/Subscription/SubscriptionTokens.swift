public import Foundation
import JWTKit

/// The claims of a subscription's bearer token (A_22366 / IG-TIFLOW-CORE-350): which subscription it
/// opens, when it was issued and when it expires.
///
/// IBM's FD writes `iat` and `exp` in epoch **milliseconds** (its `Timestamp` is millisecond-based);
/// the IG only says "timestamp". The token is opaque to clients and read by our websocket endpoint
/// alone, so erx writes JWT's usual seconds (RFC 7519 NumericDate), which every JWT library reads.
struct SubscriptionTokenClaims: JWTPayload {
    var subscriptionId: String
    var iat: IssuedAtClaim
    var exp: ExpirationClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Issues and verifies the websocket tokens: compact JWS, ES256, signed by the subscription key of
/// the data directory (`subscription-signing-key.pem`) or of `--subscription-signing-key`. It is
/// not the access-token key: a subscription token opens the websocket and nothing else.
public struct SubscriptionTokens: Sendable {
    public static let fileName = "subscription-signing-key.pem"
    let privateKey: ES256PrivateKey

    init(privateKey: ES256PrivateKey) {
        self.privateKey = privateKey
    }

    public static func ephemeral() -> SubscriptionTokens { SubscriptionTokens(privateKey: ES256PrivateKey()) }

    /// A P-256 private key in PEM (`openssl ecparam -name prime256v1 -genkey`).
    public static func load(file: URL) throws -> SubscriptionTokens {
        SubscriptionTokens(privateKey: try ES256PrivateKey(pem: String(contentsOf: file, encoding: .utf8)))
    }

    /// The key in `directory`, made there (mode 0600) on first use.
    public static func loadOrCreate(in directory: URL) throws -> SubscriptionTokens {
        SubscriptionTokens(privateKey: try KeyFile.loadOrCreate(
            named: fileName, in: directory, parse: { try ES256PrivateKey(pem: $0) }, make: { ES256PrivateKey() }, pem: \.pemRepresentation
        ))
    }

    /// A token for `subscriptionID`, valid from `issued` until `expires` (both whole seconds).
    /// Public for the benchmark, which opens websockets without going through `POST /Subscription`.
    public func issue(subscriptionID: String, issued: Date, expires: Date) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: privateKey)
        return try await keys.sign(SubscriptionTokenClaims(subscriptionId: subscriptionID, iat: IssuedAtClaim(value: issued),
                                                           exp: ExpirationClaim(value: expires)))
    }

    /// The subscription a token opens and when it expires; `nil` for a token that is not ours, is
    /// malformed, or has expired.
    func verify(_ token: String) async -> (subscriptionID: String, expires: Date)? {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: privateKey.publicKey)
        guard let claims = try? await keys.verify(token, as: SubscriptionTokenClaims.self),
              claims.subscriptionId.utf8.count == 32, Hex.decode(claims.subscriptionId) != nil
        else { return nil }
        return (claims.subscriptionId, claims.exp.value)
    }
}
