public import Dispensing
public import Foundation
import JWTKit

/// The claims of a gematik-style access token that the routes read: the holder's profession
/// (`professionOID`) and their `idNummer` (Telematik-ID of an institution, KVNR of an insurant).
struct AccessTokenClaims: JWTPayload {
    var professionOID: String
    var idNummer: String?
    var exp: ExpirationClaim
    var iat: IssuedAtClaim?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Verifies bearer tokens (ES256) against a key set and turns them into a `Caller`.
public struct AccessTokenVerifier: Sendable {
    let keys: JWTKeyCollection

    /// Accepts tokens signed by any key of a JWKS file (`--auth jwks:FILE`).
    public static func jwks(file: URL) async throws -> AccessTokenVerifier {
        let json = try String(contentsOf: file, encoding: .utf8)
        let keys = JWTKeyCollection()
        try await keys.add(jwksJSON: json)
        return AccessTokenVerifier(keys: keys)
    }

    /// Accepts tokens signed by the development key (`--auth dev`).
    public static func development(_ key: DevelopmentSigningKey) async -> AccessTokenVerifier {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: key.privateKey.publicKey, kid: JWKIdentifier(string: DevelopmentSigningKey.keyID))
        return AccessTokenVerifier(keys: keys)
    }

    /// The caller of an `Authorization: Bearer …` header. Any failure is `unauthenticated`; a valid
    /// token of a profession we do not know is `professionNotAllowed`.
    public func caller(authorization: String?) async throws(RequestError) -> Caller {
        guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            throw .unauthenticated
        }
        let token = authorization.dropFirst(7).trimmingCharacters(in: .whitespaces)
        let claims: AccessTokenClaims
        do {
            claims = try await keys.verify(token, as: AccessTokenClaims.self)
        } catch {
            throw .unauthenticated
        }
        guard let profession = Profession(rawValue: claims.professionOID) else { throw .professionNotAllowed }
        if profession == .insurant {
            return Caller(profession: profession, kvnr: claims.idNummer.flatMap(KVNR.init))
        }
        return Caller(profession: profession, telematikID: claims.idNummer.flatMap(TelematikID.init))
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
    public func token(profession: String, idNummer: String?, lifetime: TimeInterval = 12 * 3600, now: Date = Date()) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: privateKey, kid: JWKIdentifier(string: Self.keyID))
        let claims = AccessTokenClaims(
            professionOID: profession, idNummer: idNummer,
            exp: ExpirationClaim(value: now.addingTimeInterval(lifetime)), iat: IssuedAtClaim(value: now)
        )
        return try await keys.sign(claims, kid: JWKIdentifier(string: Self.keyID))
    }
}
