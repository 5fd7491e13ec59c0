public import Dispensing
public import Foundation
import JWTKit
import Synchronization

/// The claims of a gematik-style access token that the routes read: the holder's profession
/// (`professionOID`), their `idNummer` (Telematik-ID of an institution, KVNR of an insurant) and
/// the institution's `organizationName` (the pharmacy's name in its ePA Organization, A_25947).
struct AccessTokenClaims: JWTPayload {
    var professionOID: String
    var idNummer: String?
    var organizationName: String?
    var exp: ExpirationClaim
    var iat: IssuedAtClaim?
    var nbf: NotBeforeClaim?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// What a token must meet beyond its signature and `exp` (issue 19): the times it claims are not in
/// the future beyond a small clock skew, and it lives no longer than a maximum.
public struct TokenPolicy: Sendable, Hashable {
    /// How far a token's `iat` or `nbf` may lie in the future (clocks of issuers drift).
    public var clockSkew: TimeInterval
    /// The longest lifetime taken: `exp` minus `iat` (or minus now, without `iat`). The TI's IDP
    /// issues access tokens for 5 minutes; `erx token` issues development tokens for 12 hours.
    public var maximumLifetime: TimeInterval

    public init(clockSkew: TimeInterval = 60, maximumLifetime: TimeInterval = 24 * 3600) {
        self.clockSkew = clockSkew
        self.maximumLifetime = maximumLifetime
    }
}

/// Verifies bearer tokens (ES256) against a key set and turns them into a `Caller`.
public struct AccessTokenVerifier: Sendable {
    let keys: JWTKeyCollection
    /// Tokens already verified: a pharmacy sends the same token with every request for minutes,
    /// and checking its ECDSA signature each time cost more than parsing a `$dispense` body.
    let verified = VerifiedTokens(capacity: 4096)
    let policy: TokenPolicy

    init(keys: JWTKeyCollection, policy: TokenPolicy) {
        self.keys = keys
        self.policy = policy
    }

    /// Accepts tokens signed by any key of a JWKS file (`--auth jwks:FILE`).
    public static func jwks(file: URL, policy: TokenPolicy = TokenPolicy()) async throws -> AccessTokenVerifier {
        let json = try String(contentsOf: file, encoding: .utf8)
        let keys = JWTKeyCollection()
        try await keys.add(jwksJSON: json)
        return AccessTokenVerifier(keys: keys, policy: policy)
    }

    /// Accepts tokens signed by the development key (`--auth dev`).
    public static func development(_ key: DevelopmentSigningKey, policy: TokenPolicy = TokenPolicy()) async -> AccessTokenVerifier {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: key.privateKey.publicKey, kid: JWKIdentifier(string: DevelopmentSigningKey.keyID))
        return AccessTokenVerifier(keys: keys, policy: policy)
    }

    /// The caller of an `Authorization: Bearer …` header. Any failure is `unauthenticated`; a valid
    /// token of a profession we do not know is `professionNotAllowed`.
    public func caller(authorization: String?) async throws(RequestError) -> Caller {
        guard let authorization, authorization.utf8.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            throw .unauthenticated
        }
        let token = Self.trimmingBlanks(authorization.utf8.dropFirst(7))
        let now = Date()
        if let caller = verified.caller(of: token, at: now) { return caller }
        let claims: AccessTokenClaims
        do {
            // The header and the signature's form first: JWTKit would take another `alg` than the
            // key's, an unknown `crit`, and a high-S signature.
            guard TokenForm.isAcceptable(token) else { throw RequestError.unauthenticated }
            claims = try await keys.verify(token, as: AccessTokenClaims.self)
        } catch {
            throw .unauthenticated
        }
        guard policy.admits(claims, at: now) else { throw .unauthenticated }
        guard let profession = Profession(rawValue: claims.professionOID) else { throw .professionNotAllowed }
        let caller = profession == .insurant
            ? Caller(profession: profession, kvnr: claims.idNummer.flatMap(KVNR.init))
            : Caller(profession: profession, telematikID: claims.idNummer.flatMap(TelematikID.init),
                     organizationName: claims.organizationName.flatMap { $0.isEmpty ? nil : $0 })
        verified.remember(token, as: caller, until: claims.exp.value)
        return caller
    }

    /// The token without the spaces and tabs around it (Foundation's trimming bridges to NSString,
    /// which cost more per request than everything else in this function but the signature).
    private static func trimmingBlanks(_ bytes: Substring.UTF8View) -> String {
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !isBlank($0) }), let last = bytes.lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(Substring(bytes[first...last]))
    }
}

/// Verified tokens and their callers until the token expires, at most `capacity` of them: when
/// full, the expired ones go, and if that is not enough, all (they are verified again on next use).
/// Keyed by the whole token, signature included, so only the very token that was verified hits.
final class VerifiedTokens: Sendable {
    private let entries: Mutex<[String: (caller: Caller, expires: Date)]> = Mutex([:])
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func caller(of token: String, at now: Date) -> Caller? {
        entries.withLock { entries in
            guard let entry = entries[token] else { return nil }
            guard now < entry.expires else {
                entries[token] = nil
                return nil
            }
            return entry.caller
        }
    }

    func remember(_ token: String, as caller: Caller, until expires: Date) {
        entries.withLock { entries in
            if entries.count >= capacity {
                let now = Date()
                entries = entries.filter { now < $0.value.expires }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[token] = (caller, expires)
        }
    }
}

/// The ES256 key of `erx serve --auth dev`: made once in the data directory (`dev-signing-key.pem`,
/// mode 0600) and used by `erx token` to issue tokens the server accepts. Not for production.
public struct DevelopmentSigningKey: Sendable {
    public static let fileName = "dev-signing-key.pem"
    static let keyID = "erx-dev"
    let privateKey: ES256PrivateKey

    /// Loads the key from `directory`, creating it (and the directory) on first use.
    public static func loadOrCreate(in directory: URL) throws -> DevelopmentSigningKey {
        DevelopmentSigningKey(privateKey: try KeyFile.loadOrCreate(
            named: fileName, in: directory, parse: { try ES256PrivateKey(pem: $0) }, make: { ES256PrivateKey() }, pem: \.pemRepresentation
        ))
    }

    /// A fresh key that lives only in memory (tests).
    public static func ephemeral() -> DevelopmentSigningKey {
        DevelopmentSigningKey(privateKey: ES256PrivateKey())
    }

    /// A token for `profession` with `idNummer` (and `organizationName`), valid for `lifetime` seconds.
    public func token(profession: String, idNummer: String?, organizationName: String? = nil, lifetime: TimeInterval = 12 * 3600,
                      now: Date = Date()) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: privateKey, kid: JWKIdentifier(string: Self.keyID))
        let claims = AccessTokenClaims(
            professionOID: profession, idNummer: idNummer, organizationName: organizationName,
            exp: ExpirationClaim(value: now.addingTimeInterval(lifetime)), iat: IssuedAtClaim(value: now)
        )
        return TokenForm.lowS(try await keys.sign(claims, kid: JWKIdentifier(string: Self.keyID)))
    }
}
