import Crypto
import Dispensing
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Testing

/// The PoPP form of a pharmacy's `GET /Task` (fd-parity §1.3 "PoPP form checks", §1.6 event 50):
/// `X-PoPP-Token` signed by a key of `--popp-jwks`, issued by `--popp-issuer`.
@Suite struct EgkPoPPTests {
    static let issuer = "https://popp.example"
    static let kid = "popp-1"
    static let key = P256.Signing.PrivateKey()

    static func base64URL(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A JWKS file with the public half of `key`.
    static func jwksFile() throws -> URL {
        let raw = key.publicKey.rawRepresentation
        let jwk = #"{"keys":[{"kty":"EC","crv":"P-256","kid":"\#(kid)","use":"sig","alg":"ES256","x":"\#(base64URL(raw.prefix(32)))","y":"\#(base64URL(raw.suffix(32)))"}]}"#
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("popp-\(UUID().uuidString).jwks")
        try Data(jwk.utf8).write(to: file)
        return file
    }

    /// A PoPP token as the PoPP service issues it; the arguments break one thing each.
    static func token(typ: String = "vnd.telematik.popp+jwt", signer: P256.Signing.PrivateKey = key, iss: String = issuer,
                      age: TimeInterval = 10, actor: String = TestServer.pharmacyTelematikID, patient: String = TestServer.kvnr,
                      proofMethod: String = "ehc-practitioner-trustedchannel") throws -> String {
        let header = #"{"typ":"\#(typ)","alg":"ES256","kid":"\#(kid)"}"#
        let iat = Int(Date().timeIntervalSince1970 - age)
        let claims = #"{"version":"1.0.0","iss":"\#(iss)","iat":\#(iat),"proofMethod":"\#(proofMethod)","patientProofTime":\#(iat),"#
            + #""patientId":"\#(patient)","insurerId":"109500969","actorId":"\#(actor)","actorProfessionOid":"1.2.276.0.76.4.54"}"#
        let input = base64URL(Data(header.utf8)) + "." + base64URL(Data(claims.utf8))
        let signature = try signer.signature(for: Data(input.utf8)).rawRepresentation
        return input + "." + base64URL(signature)
    }

    func live(popp: Bool = true, _ body: @escaping @Sendable (EgkRedemptionTests.Harness) async throws -> Void) async throws {
        let verifier = popp ? try await PoPPVerifier.jwks(file: try Self.jwksFile(), issuer: Self.issuer) : nil
        try await EgkRedemptionTests().live(configure: { $0.popp = verifier }, body)
    }

    func get(_ h: EgkRedemptionTests.Harness, _ token: String, query: String = "") async throws -> Reply {
        try await h.client.send(.get, "/Task\(query)", token: h.pharmacy, headers: [HTTPField.Name("X-PoPP-Token")!: token])
    }

    /// A_22432-02, A_22431-02: the KVNR from the token; event 50 names the proof method.
    @Test func A_22432_02_aPoPPTokenListsTheInsurantsTasks() async throws {
        try await live { h in
            let ready = try await h.factory.prepare(.ready)
            let reply = try await get(h, try Self.token())
            #expect(reply.status == .ok)
            #expect(InsurantReadTests.entries(try reply.resource()).map { $0.resource.value(of: "id") } == [ready.id])
            // The header wins over a proof in the query (IBM takes the PoPP branch first).
            #expect(try await get(h, try Self.token(), query: "?kvnr=X999999999&pnw=x").status == .ok)
            #expect(try await h.auditTexts().first
                == "Adler-Apotheke hat die Liste der einlösbaren E-Rezepte abgerufen durch Autorisierung mittels Gesundheitskarte in der Apotheke.")
            #expect(try await h.auditTexts("en").first
                == "Adler-Apotheke retrieved a list of prescriptions to be redeemed by authorization with the health card at the pharmacy.")
        }
    }

    /// A_26450 (signature, known key), A_23399-01 (age), A_23402-01 (actor), the header's `typ`,
    /// the issuer: 403; a token that is no JWT: 400.
    @Test func A_26450_A_23399_01_A_23402_01_invalidPoPPTokensAre403() async throws {
        try await live { h in
            let refused = [
                try Self.token(typ: "JWT"), try Self.token(signer: P256.Signing.PrivateKey()), try Self.token(iss: "https://other.example"),
                try Self.token(age: 1900), try Self.token(actor: TestServer.otherPharmacyTelematikID), try Self.token(patient: "123"),
            ]
            for token in refused {
                try EgkRedemptionTests.expect(try await get(h, token), 403, "POPP-Token verification error.")
            }
            try EgkRedemptionTests.expect(try await get(h, "not-a-token"), 400, "Error during PoPP-Token processing.", "invalid")
            #expect(try await h.auditTexts().isEmpty)
        }
        try await live(popp: false) { h in
            try EgkRedemptionTests.expect(try await get(h, try Self.token()), 403, "POPP-Token verification error.")
        }
    }
}
