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
    /// The names the audit trail shows (gemSpec_IDP_Dienst: institutions' `organizationName`,
    /// insurants' `given_name`/`family_name`; `display_name` where the IDP sends one).
    var organizationName: String?
    var given_name: String?
    var family_name: String?
    var display_name: String?
    var exp: ExpirationClaim
    var iat: IssuedAtClaim?
    var nbf: NotBeforeClaim?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }

    var insurantName: String? {
        if let display_name, !display_name.isEmpty { return display_name }
        let parts = [given_name, family_name].compactMap { $0 }.filter { !$0.isEmpty }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
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

    /// The caller of an `Authorization: Bearer …` header. Any failure is `unauthenticated` with the
    /// reason; a valid token of a profession we do not know is `professionNotAllowed`.
    public func caller(authorization: String?) async throws(RequestError) -> Caller {
        try await caller(token: Self.bearerToken(authorization))
    }

    /// The token of an `Authorization` header, checked for form only (no key needed): present,
    /// `Bearer`, three base64url parts. The production service checks this before it looks the
    /// route up, and the signature after (fd-parity §7.1).
    public static func bearerToken(_ authorization: String?) throws(RequestError) -> String {
        guard let authorization else { throw .unauthenticated(.missingHeader) }
        guard authorization.utf8.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            throw .unauthenticated(.notBearer)
        }
        let token = trimmingBlanks(authorization.utf8.dropFirst(7))
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count > 0, parts[2].count > 0,
              token.utf8.allSatisfy({ isBase64URL($0) || $0 == UInt8(ascii: ".") })
        else { throw .unauthenticated(.malformedToken) }
        return token
    }

    /// The caller of a token of the right form (``bearerToken(_:)``).
    func caller(token: String) async throws(RequestError) -> Caller {
        let now = Date()
        if let caller = verified.caller(of: token, at: now) { return caller }
        let claims: AccessTokenClaims
        do {
            // The header and the signature's form first: JWTKit would take another `alg` than the
            // key's, an unknown `crit`, and a high-S signature.
            guard TokenForm.isAcceptable(token) else { throw RequestError.unauthenticated(.invalidSignature) }
            claims = try await keys.verify(token, as: AccessTokenClaims.self)
        } catch {
            throw .unauthenticated(Self.failure(of: error))
        }
        guard policy.admits(claims, at: now) else { throw .unauthenticated(.expired) }
        guard let profession = Profession(rawValue: claims.professionOID) else { throw .professionNotAllowed(oid: claims.professionOID) }
        let caller = profession == .insurant
            ? Caller(profession: profession, kvnr: claims.idNummer.flatMap(KVNR.init), name: claims.insurantName)
            : Caller(profession: profession, telematikID: claims.idNummer.flatMap(TelematikID.init), name: claims.organizationName.flatMap { $0.isEmpty ? nil : $0 })
        verified.remember(token, as: caller, until: claims.exp.value)
        return caller
    }

    /// What a verification error means, in the production service's four 401 reasons: JWTKit
    /// decodes the claims before it checks the signature, so a missing claim reads as a payload that
    /// cannot be decoded (`malformedToken`) and is reported as a format error, as the production
    /// service does for claims of the wrong type.
    private static func failure(of error: any Error) -> AuthenticationFailure {
        if let error = error as? RequestError, case .unauthenticated(let failure) = error { return failure }
        guard let error = error as? JWTError else { return .invalidSignature }
        switch error.errorType {
        case .claimVerificationFailure: return .expired
        case .malformedToken: return .malformedToken
        default: return .invalidSignature
        }
    }

    private static func isBase64URL(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "="): true
        default: false
        }
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

    /// A token for `profession` with `idNummer`, valid for `lifetime` seconds.
    /// `name` goes into `organizationName` for institutions and `display_name` for insurants.
    public func token(profession: String, idNummer: String?, name: String? = nil, lifetime: TimeInterval = 12 * 3600, now: Date = Date()) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: privateKey, kid: JWKIdentifier(string: Self.keyID))
        let claims = AccessTokenClaims(
            professionOID: profession, idNummer: idNummer,
            organizationName: profession == Profession.insurant.rawValue ? nil : name,
            display_name: profession == Profession.insurant.rawValue ? name : nil,
            exp: ExpirationClaim(value: now.addingTimeInterval(lifetime)), iat: IssuedAtClaim(value: now)
        )
        return TokenForm.lowS(try await keys.sign(claims, kid: JWKIdentifier(string: Self.keyID)))
    }
}
