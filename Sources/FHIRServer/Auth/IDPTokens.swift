import Crypto
public import Foundation
public import TICrypto

/// The signature of an IDP access token (`alg: BP256R1`, fd-messaging-transport §3.2 step 6):
/// ECDSA with SHA-256 over the ASCII `header.payload`, the base64url signature exactly 64 bytes
/// `r ‖ s` (IBM `Jwt.cxx` refuses other lengths). JWTKit knows no brainpool curve, so this is ours.
enum IDPTokenSignature {
    static func isValid(_ parts: [Substring], key: BrainpoolP256r1.PublicKey) -> Bool {
        guard parts.count == 3, let raw = TokenForm.base64URLDecoded(parts[2]), raw.count == 64,
              let signature = try? BrainpoolP256r1.ECDSASignature(rawRepresentation: raw)
        else { return false }
        return key.isValidSignature(signature, for: Data("\(parts[0]).\(parts[1])".utf8))
    }

    /// A compact JWS `header.payload.signature` of `header` and `claims` (JSON objects) by `key`.
    static func sign(header: [String: Any], claims: [String: Any], key: BrainpoolP256r1.PrivateKey) throws -> String {
        let input = TokenForm.base64URLEncoded(Array(try JSONSerialization.data(withJSONObject: header, options: .sortedKeys))) + "."
            + TokenForm.base64URLEncoded(Array(try JSONSerialization.data(withJSONObject: claims, options: .sortedKeys)))
        let signature = try key.signature(for: Data(input.utf8))
        return input + "." + TokenForm.base64URLEncoded(Array(signature.rawRepresentation))
    }
}

/// The brainpoolP256r1 key of a development IDP: `erx serve --auth dev` accepts `BP256R1` tokens it
/// signs beside its ES256 ones, so suites can send the token form the TI's IDP sends (and the VAU
/// carries) without a TI. Made once in the data directory (`dev-idp-signing-key.pem`, PKCS#8,
/// mode 0600, never overwritten); `erx token --alg BP256R1` signs with it. Not for production.
public struct DevelopmentIDPKey: Sendable {
    public static let fileName = "dev-idp-signing-key.pem"
    /// The IDP's `kid` for its token signing key (`tokenFlow.md`).
    static let keyID = "idpSig"
    static let issuer = "https://idp.erx.invalid"
    let privateKey: BrainpoolP256r1.PrivateKey

    /// Loads the key from `directory`, creating it (and the directory) on first use.
    public static func loadOrCreate(in directory: URL) throws -> DevelopmentIDPKey {
        DevelopmentIDPKey(privateKey: try KeyFile.loadOrCreate(
            named: fileName, in: directory, parse: { try BrainpoolP256r1.PrivateKey(pemRepresentation: $0) },
            make: { try BrainpoolP256r1.PrivateKey() }, pem: \.pemRepresentation
        ))
    }

    /// A fresh key that lives only in memory (tests).
    public static func ephemeral() throws -> DevelopmentIDPKey {
        DevelopmentIDPKey(privateKey: try BrainpoolP256r1.PrivateKey())
    }

    /// The key `--auth idp:FILE` is given in production (here: to verify these tokens elsewhere).
    public var publicKey: BrainpoolP256r1.PublicKey { privateKey.publicKey }

    /// A `BP256R1` token as the IDP issues it (fd-messaging-transport §3.1): `typ at+JWT`, `kid
    /// idpSig`, whole-second `iat`/`exp`, `acr` high, a `jti`, and `sub` stable per holder and
    /// audience (the IDP hashes `aud`, `idNummer` and a salt of its own).
    public func token(profession: String, idNummer: String?, name: String? = nil, audience: String? = nil,
                      lifetime: TimeInterval = 300, now: Date = Date()) throws -> String {
        let issued = Int(now.timeIntervalSince1970)
        let subject = SHA256.hash(data: Data("\(audience ?? "")|\(idNummer ?? "")|erx-dev-idp".utf8))
        var claims: [String: Any] = [
            "iss": Self.issuer, "sub": TokenForm.base64URLEncoded(Array(subject)), "professionOID": profession,
            "acr": "gematik-ehealth-loa-high", "iat": issued, "exp": issued + Int(lifetime), "jti": UUID().uuidString,
        ]
        if let idNummer { claims["idNummer"] = idNummer }
        if let audience { claims["aud"] = audience }
        if let name { claims[profession == "1.2.276.0.76.4.49" ? "display_name" : "organizationName"] = name }
        return try IDPTokenSignature.sign(header: ["alg": "BP256R1", "typ": "at+JWT", "kid": Self.keyID], claims: claims, key: privateKey)
    }
}
