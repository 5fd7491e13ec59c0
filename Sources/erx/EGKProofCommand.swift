import ArgumentParser
import Dispensing
import FHIRServer
import Foundation

/// `erx egk-proof`: what a pharmacy's Konnektor hands over after reading an eGK, made with the
/// development VSDM key of `erx dev-pki`, so a suite can call `GET /Task?kvnr&pnw&hcv` without
/// a card reader. Prints `pnw=…` (URL-encoded, ready for the query) and, when known, `hcv=…`.
struct EGKProofCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "egk-proof", abstract: "Print a development eGK proof (pnw, hcv) for GET /Task.")

    @Option(help: "The directory of 'erx dev-pki' (holds vsdm-keys.json).")
    var data = "erx-pki"

    @Option(help: "The insurant's KVNR (a letter and nine digits).")
    var kvnr: String

    @Option(help: "The check digit's version: 1 (HMAC) or 2 (AES-GCM, with hcv).")
    var version = 2

    @Option(help: "Insurance start and street of the VSD for the hcv, e.g. \"20180111,Beispielstrasse\" (version 2; default that example).")
    var hcvFrom = "20180111,Beispielstrasse"

    @Option(help: "The PN's result E: 1 or 2 (with check digit), 3 (offline: no check digit, a PN3).")
    var result = 1

    @Option(help: "The time of the check (ISO 8601, e.g. 2026-10-01T09:30:00Z); default: now.")
    var time: String?

    @Flag(help: "Mark the eGK revoked (version 2).")
    var revoked = false

    func validate() throws {
        guard KVNR(kvnr) != nil else { throw ValidationError("--kvnr must be a letter and nine digits") }
        guard version == 1 || version == 2 else { throw ValidationError("--version must be 1 or 2") }
        guard (1...6).contains(result) else { throw ValidationError("--result must be 1…6") }
        guard hcvFrom.contains(",") else { throw ValidationError("--hcv-from must be \"INSURANCE-START,STREET\"") }
        if let time, SignPrescriptionCommand.date(time) == nil { throw ValidationError("--time is not an ISO 8601 date-time") }
    }

    func run() throws {
        let at = time.flatMap(SignPrescriptionCommand.date) ?? Date()
        let parts = hcvFrom.split(separator: ",", maxSplits: 1).map(String.init)
        let hcv = HealthCareValidation.hcv(insuranceStart: parts[0], street: parts.count > 1 ? parts[1] : "")
        var checkDigit: String?
        if result != 3 {
            let keys = try VSDMKeySet.load(file: URL(fileURLWithPath: data, isDirectory: true).appendingPathComponent(VSDMKeySet.developmentFile))
            guard let key = keys.keys.first else { throw ValidationError("\(VSDMKeySet.developmentFile) holds no key") }
            checkDigit = version == 1
                ? VSDMCheckDigit.makeV1(kvnr: kvnr, time: at, operatorID: key.operatorID, version: key.version, secret: key.secret)
                : VSDMCheckDigit.makeV2(kvnr: kvnr, hcv: hcv, revoked: revoked, time: at, operatorID: key.operatorID, version: key.version,
                                        secret: key.secret)
        }
        let stamp = DateFormatter()
        stamp.locale = Locale(identifier: "en_US_POSIX")
        stamp.timeZone = TimeZone(identifier: "UTC")
        stamp.dateFormat = "yyyyMMddHHmmss"
        let document = ProofOfPresence(timestamp: stamp.string(from: at), result: result, checkDigit: checkDigit)
        guard let pnw = document.pnw() else { throw ValidationError("zlib could not compress the proof") }
        print("pnw=\(pnw.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? pnw)")
        print("hcv=\(HealthCareValidation.text(hcv))")
    }
}
