public import Dispensing
public import Foundation
import JWTKit
public import TICrypto
import Synchronization

/// The claims of a gematik-style access token that the routes read: the holder's profession
/// (`professionOID`), their `idNummer` (Telematik-ID of an institution, KVNR of an insurant) and
/// the institution's `organizationName` (the pharmacy's name in its ePA Organization, A_25947);
/// `sub` keys the per-token rate limit (A_19992), `aud` is checked against ``TokenPolicy/audience``.
struct AccessTokenClaims: JWTPayload {
    var professionOID: String
    var idNummer: String?
    /// The names the audit trail shows (gemSpec_IDP_Dienst: institutions' `organizationName`,
    /// insurants' `given_name`/`family_name`; `display_name` where the IDP sends one).
    var organizationName: String?
    var given_name: String?
    var family_name: String?
    var display_name: String?
    var sub: String?
    var aud: AudienceClaim?
    var exp: ExpirationClaim
    var iat: IssuedAtClaim?
    var nbf: NotBeforeClaim?

    /// The claims are checked by ``TokenPolicy`` before the signature (the production service's
    /// order), for every algorithm alike; JWTKit's own hook has nothing left to do.
    func verify(using algorithm: some JWTAlgorithm) async throws {}

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
    /// The `aud` a token must name, exactly and alone (A_20370: the FD's registered URI); `nil`
    /// takes any or none (development).
    public var audience: String?

    public init(clockSkew: TimeInterval = 60, maximumLifetime: TimeInterval = 24 * 3600, audience: String? = nil) {
        self.clockSkew = clockSkew
        self.maximumLifetime = maximumLifetime
        self.audience = audience
    }
}

/// Verifies bearer tokens and turns them into a `Caller`: ES256 against a key set (`--auth dev`,
/// `jwks:`), BP256R1 against the IDP's brainpoolP256r1 key (`--auth idp:`, and the development IDP
/// key of `--auth dev`). The algorithms differ only in the signature; the claims go through one
/// check (``TokenPolicy``), and the per-`sub` limit (A_19992) follows for both.
public struct AccessTokenVerifier: Sendable {
    let keys: JWTKeyCollection?
    let idpKey: BrainpoolP256r1.PublicKey?
    /// Tokens already verified: a pharmacy sends the same token with every request for minutes,
    /// and checking its ECDSA signature each time cost more than parsing a `$dispense` body.
    let verified = VerifiedTokens(capacity: 4096)
    let policy: TokenPolicy
    var rateLimiter: SubjectRateLimiter?

    init(keys: JWTKeyCollection?, idpKey: BrainpoolP256r1.PublicKey? = nil, policy: TokenPolicy) {
        self.keys = keys
        self.idpKey = idpKey
        self.policy = policy
    }

    /// Accepts tokens signed by any key of a JWKS file (`--auth jwks:FILE`).
    public static func jwks(file: URL, policy: TokenPolicy = TokenPolicy()) async throws -> AccessTokenVerifier {
        let json = try String(contentsOf: file, encoding: .utf8)
        let keys = JWTKeyCollection()
        try await keys.add(jwksJSON: json)
        return AccessTokenVerifier(keys: keys, policy: policy)
    }

    /// Accepts `BP256R1` tokens of the IDP whose signing key is `key` (`--auth idp:FILE`), and no
    /// others (an ES256 token is refused as the FD refuses any `alg` but BP256R1).
    public static func idp(key: BrainpoolP256r1.PublicKey, policy: TokenPolicy = TokenPolicy()) -> AccessTokenVerifier {
        AccessTokenVerifier(keys: nil, idpKey: key, policy: policy)
    }

    /// The IDP's signing key from a PEM file: a `PUBLIC KEY` or the signer's `CERTIFICATE` (its
    /// chain to the TSL is not checked here).
    public static func idpKey(pemFile: URL) throws -> BrainpoolP256r1.PublicKey {
        let pem = try String(contentsOf: pemFile, encoding: .utf8)
        if pem.contains("-----BEGIN CERTIFICATE-----") { return try BrainpoolP256r1.Certificate(pemRepresentation: pem).publicKey }
        return try BrainpoolP256r1.PublicKey(pemRepresentation: pem)
    }

    /// Accepts tokens signed by the development key (`--auth dev`): ES256 by `key`, and BP256R1 by
    /// `idp` when given (`erx token --alg BP256R1`).
    public static func development(_ key: DevelopmentSigningKey, idp: DevelopmentIDPKey? = nil, policy: TokenPolicy = TokenPolicy()) async -> AccessTokenVerifier {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: key.privateKey.publicKey, kid: JWKIdentifier(string: DevelopmentSigningKey.keyID))
        return AccessTokenVerifier(keys: keys, idpKey: idp?.privateKey.publicKey, policy: policy)
    }

    /// This verifier with the per-`sub` limit of A_19992 (`nil`: none).
    public func limitingRate(_ limit: TokenRateLimit?) -> AccessTokenVerifier {
        var copy = self
        copy.rateLimiter = limit.map(SubjectRateLimiter.init)
        return copy
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
        if let entry = verified.entry(of: token, at: now) {
            try rateLimiter?.admit(entry.subject, until: entry.expires, at: now)
            return entry.caller
        }
        let claims = try await verifiedClaims(token, at: now)
        if claims.professionOID != Self.ncpehOID {
            // A_19992-01: the NCPeH's tokens are exempt. Before the role check, as the FD.
            try rateLimiter?.admit(claims.sub, until: claims.exp.value, at: now)
        }
        guard let profession = Profession(rawValue: claims.professionOID) else { throw .professionNotAllowed(oid: claims.professionOID) }
        let caller = profession == .insurant
            ? Caller(profession: profession, kvnr: claims.idNummer.flatMap(KVNR.init), name: claims.insurantName)
            : Caller(profession: profession, telematikID: claims.idNummer.flatMap(TelematikID.init), name: claims.organizationName.flatMap { $0.isEmpty ? nil : $0 })
        verified.remember(token, as: VerifiedTokens.Entry(caller: caller, expires: claims.exp.value, subject: claims.professionOID == Self.ncpehOID ? nil : claims.sub))
        return caller
    }

    /// The profession OID of the NCPeH-FD (IBM `ProfessionOid.hxx` `oid_ncpeh`).
    static let ncpehOID = "1.2.276.0.76.4.292"

    /// The claims of a token whose header, signature and claims pass: the header's `alg` (a wrong
    /// one is "invalid signature", as the FD answers it), the signature by that algorithm's key,
    /// then one check of the claims for both algorithms (``TokenPolicy``). The FD checks the claims
    /// before the signature (`Jwt.cxx`); erx keeps its signature-first order, so a forged token
    /// learns nothing about which claims would pass.
    func verifiedClaims(_ token: String, at now: Date) async throws(RequestError) -> AccessTokenClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let header = TokenForm.header(parts[0]) else { throw .unauthenticated(.invalidSignature) }
        let algorithm = header["alg"] as? String
        guard header["crit"] == nil, (algorithm == "ES256" && keys != nil) || (algorithm == "BP256R1" && idpKey != nil) else {
            throw .unauthenticated(.invalidSignature)
        }
        let claims: AccessTokenClaims
        if algorithm == "BP256R1", let idpKey {
            guard IDPTokenSignature.isValid(parts, key: idpKey) else { throw .unauthenticated(.invalidSignature) }
            guard let payload = TokenForm.base64URLDecoded(parts[1]), let decoded = try? Self.decoder.decode(AccessTokenClaims.self, from: payload) else {
                throw .unauthenticated(.malformedToken)
            }
            claims = decoded
        } else {
            do {
                // The signature's form first: JWTKit would take a high-S signature.
                guard let keys, TokenForm.isAcceptable(token) else { throw RequestError.unauthenticated(.invalidSignature) }
                claims = try await keys.verify(token, as: AccessTokenClaims.self)
            } catch {
                throw .unauthenticated(Self.failure(of: error))
            }
        }
        try policy.check(claims, at: now)
        return claims
    }

    /// As JWTKit reads claims: times are seconds since 1970.
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }()

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
    struct Entry: Sendable {
        var caller: Caller
        var expires: Date
        /// What the rate limit counts by: `sub` (none for the NCPeH, A_19992-01).
        var subject: String?
    }

    private let entries: Mutex<[String: Entry]> = Mutex([:])
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func entry(of token: String, at now: Date) -> Entry? {
        entries.withLock { entries in
            guard let entry = entries[token] else { return nil }
            guard now < entry.expires else {
                entries[token] = nil
                return nil
            }
            return entry
        }
    }

    func remember(_ token: String, as entry: Entry) {
        entries.withLock { entries in
            if entries.count >= capacity {
                let now = Date()
                entries = entries.filter { now < $0.value.expires }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[token] = entry
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
