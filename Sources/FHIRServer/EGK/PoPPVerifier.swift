public import Dispensing
public import Foundation
import JWTKit

/// The PoPP form of a pharmacy's `GET /Task` (fd-parity §1.3 "PoPP form checks"; A_22432-02,
/// IG-TIFLOW-CORE-98…108): the `X-PoPP-Token` a PoPP service issued after the card was presented.
/// The FD fetches the service's keys hourly through its entity statement (A_28580); erx reads
/// them from a JWKS file and takes the issuer from the configuration (`--popp-jwks`,
/// `--popp-issuer`).
public struct PoPPVerifier: Sendable {
    let keys: JWTKeyCollection
    public let issuer: String
    /// How old a token's `iat` may be (A_23399-01: 30 minutes, configurable at the FD).
    public var maximumAge: TimeInterval
    static let type = "vnd.telematik.popp+jwt"

    public static func jwks(file: URL, issuer: String, maximumAge: TimeInterval = 1800) async throws -> PoPPVerifier {
        let keys = JWTKeyCollection()
        try await keys.add(jwksJSON: String(contentsOf: file, encoding: .utf8))
        return PoPPVerifier(keys: keys, issuer: issuer, maximumAge: maximumAge)
    }

    init(keys: JWTKeyCollection, issuer: String, maximumAge: TimeInterval) {
        self.keys = keys
        self.issuer = issuer
        self.maximumAge = maximumAge
    }

    struct Header: Decodable {
        var typ: String?
        var alg: String?
        var kid: String?
    }

    struct Claims: JWTPayload {
        var iss: String
        var iat: IssuedAtClaim
        var actorId: String
        var patientId: String
        var proofMethod: String?

        /// The checks need the caller and the configuration: ``PoPPVerifier/verify(_:telematikID:now:)``.
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// What a verified token says.
    public struct Verified: Sendable, Hashable {
        public var kvnr: KVNR
        /// `proofMethod`, e.g. `ehc-practitioner-trustedchannel`; for the audit text only.
        public var proofMethod: String?
    }

    /// A_26450, A_23399-01, A_23402-01: header, signature by a known key, issuer, age, and the
    /// actor is the calling pharmacy. A token that cannot be read is `poppUnreadable` (400), one
    /// that does not verify `poppInvalid` (403).
    public func verify(_ token: String, telematikID: String?, now: Date) async -> Result<Verified, EGKRefusal> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Self.base64URL(parts[0]),
              let header = try? JSONDecoder().decode(Header.self, from: headerBytes)
        else { return .failure(.poppUnreadable) }
        guard header.typ == Self.type, header.alg == "ES256", header.kid != nil else { return .failure(.poppInvalid) }
        let claims: Claims
        do {
            claims = try await keys.verify(token, as: Claims.self)
        } catch let error as JWTError where error.errorType == .malformedToken {
            return .failure(.poppUnreadable)
        } catch {
            return .failure(.poppInvalid)
        }
        let age = now.timeIntervalSince(claims.iat.value)
        guard claims.iss == issuer, age <= maximumAge, age >= -60, let telematikID, claims.actorId == telematikID,
              let kvnr = KVNR(claims.patientId)
        else { return .failure(.poppInvalid) }
        return .success(Verified(kvnr: kvnr, proofMethod: claims.proofMethod))
    }

    static func base64URL(_ text: Substring) -> Data? {
        var normalized = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        normalized += String(repeating: "=", count: (4 - normalized.count % 4) % 4)
        return Data(base64Encoded: normalized)
    }
}
