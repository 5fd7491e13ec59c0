import ArgumentParser
import FHIRServer
import Foundation

/// `erx serve`'s options of the eGK redemption (`GET /Task?kvnr&pnw&hcv` by pharmacies, issue 24).
struct EGKOptions: ParsableArguments {
    @Option(help: "JSON file of the VSDM keys: [{\"betreiberkennung\":\"A\",\"version\":\"1\",\"cleartext_key\":\"<base64, 32 bytes>\"}] (e.g. DIR/vsdm-keys.json of 'erx dev-pki'); without it every check digit fails.")
    var vsdmKeys: String?

    @Option(help: "How far a check digit's time may differ from now, in seconds (A_23451-01).")
    var vsdmValiditySeconds = 1800

    @Option(help: "Failed eGK proofs (HCV or KVNR mismatch) per pharmacy and UTC day before it is answered 423 (A_27446); counted in the database, shared by all instances.")
    var egkDailyFailureLimit = PharmacyDailyLock.defaultLimit

    @Option(help: "JWKS file of the PoPP service's signing keys, for X-PoPP-Token (with --popp-issuer); without it every PoPP token is refused.")
    var poppJwks: String?

    @Option(help: "The PoPP service's issuer (the entity statement's sub): a PoPP token's iss must equal it.")
    var poppIssuer: String?

    @Flag(help: "Accept an offline proof (PN3: result 3, no check digit) with 202 instead of 454 (A_25207).")
    var acceptPn3 = false

    @Flag(help: "Refuse an eGK proof without hcv (457, A_27346); off as in the production service.")
    var enforceHcv = false

    func validate() throws {
        guard vsdmValiditySeconds > 0 else { throw ValidationError("--vsdm-validity-seconds must be positive") }
        guard egkDailyFailureLimit > 0 else { throw ValidationError("--egk-daily-failure-limit must be positive") }
        guard (poppJwks == nil) == (poppIssuer == nil) else { throw ValidationError("give both --popp-jwks and --popp-issuer, or neither") }
    }

    func redemption() async throws -> EGKRedemption {
        let keys = try vsdmKeys.map { try VSDMKeySet.load(file: URL(fileURLWithPath: $0)) } ?? VSDMKeySet()
        var popp: PoPPVerifier?
        if let poppJwks, let poppIssuer {
            popp = try await PoPPVerifier.jwks(file: URL(fileURLWithPath: poppJwks), issuer: poppIssuer)
        }
        return EGKRedemption(keys: keys, validitySeconds: vsdmValiditySeconds, acceptPN3: acceptPn3, enforceHCV: enforceHcv,
                             dailyFailureLimit: egkDailyFailureLimit, popp: popp)
    }
}
