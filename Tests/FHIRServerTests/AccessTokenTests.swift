import Dispensing
import FHIRServer
import Foundation
import Testing

/// The verifier remembers tokens it verified; these check that remembering never admits a token
/// that verifying would refuse.
@Suite struct AccessTokenTests {
    let key = DevelopmentSigningKey.ephemeral()
    let pharmacyOID = "1.2.276.0.76.4.54"
    let telematikID = "3-SMC-B-Testkarte-883110000095957"

    @Test func aRememberedTokenIsRefusedOnceItHasExpired() async throws {
        let verifier = await AccessTokenVerifier.development(key)
        let token = try await key.token(profession: pharmacyOID, idNummer: telematikID, lifetime: 1)

        let caller = try await verifier.caller(authorization: "Bearer \(token)")
        #expect(caller.profession == .publicPharmacy)
        #expect(try await verifier.caller(authorization: "Bearer \(token)") == caller)
        // `exp` has whole seconds: two seconds on, the token has expired for sure.
        try await Task.sleep(for: .seconds(2))
        await #expect(throws: RequestError.unauthenticated(.expired)) {
            try await verifier.caller(authorization: "Bearer \(token)")
        }
    }

    @Test func aTokenWithAnotherSignatureIsRefusedAfterTheGenuineOneWasAccepted() async throws {
        let verifier = await AccessTokenVerifier.development(key)
        let token = try await key.token(profession: pharmacyOID, idNummer: telematikID)
        _ = try await verifier.caller(authorization: "Bearer \(token)")

        let forged = try await DevelopmentSigningKey.ephemeral().token(profession: pharmacyOID, idNummer: telematikID)
        let (header, payload) = (token.split(separator: ".")[0], token.split(separator: ".")[1])
        let otherSignature = forged.split(separator: ".")[2]
        await #expect(throws: RequestError.unauthenticated(.invalidSignature)) {
            try await verifier.caller(authorization: "Bearer \(header).\(payload).\(otherSignature)")
        }
    }

    @Test func blanksAroundTheTokenAreIgnored() async throws {
        let verifier = await AccessTokenVerifier.development(key)
        let token = try await key.token(profession: pharmacyOID, idNummer: telematikID)
        #expect(try await verifier.caller(authorization: "bearer  \t\(token) ").telematikID?.rawValue == telematikID)
        await #expect(throws: RequestError.unauthenticated(.malformedToken)) { try await verifier.caller(authorization: "Bearer  ") }
        await #expect(throws: RequestError.unauthenticated(.notBearer)) { try await verifier.caller(authorization: "Basic \(token)") }
    }
}
