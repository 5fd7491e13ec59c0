import ArgumentParser
import FHIRServer
import Foundation
import TICrypto

/// `erx serve`'s options of the VAU tunnel (issue 25).
struct VAUOptions: ParsableArguments {
    @Option(help: "How the FD routes are reached: plain, vau (only through POST /VAU/{up}, as the FD; /health, /metrics stay plain) or both.")
    var transport = Transport.both.rawValue

    @Option(help: "PEM file of the VAU's brainpoolP256r1 encryption key; default: a development key made in the data directory.")
    var vauKey: String?

    @Option(help: "PEM file of the VAU's encryption certificate (GET /VAUCertificate), holding --vau-key's public key; default: a self-signed development certificate.")
    var vauCertificate: String?

    @Option(help: "DER file of an OCSP response for the VAU certificate, served at GET /VAUCertificateOCSPResponse (deprecated for clients); without one that route answers 404.")
    var vauOcspResponse: String?

    func validate() throws {
        guard Transport(rawValue: transport) != nil else { throw ValidationError("--transport must be plain, vau or both") }
        guard (vauKey == nil) == (vauCertificate == nil) else { throw ValidationError("give both --vau-key and --vau-certificate, or neither") }
    }

    /// The tunnel's settings; `nil` for `plain`.
    func settings(directory: URL) throws -> VAUSettings? {
        guard let mode = Transport(rawValue: transport), mode != .plain else { return nil }
        let (key, certificate) = try VAUKeyFiles.load(key: vauKey.map(URL.init(fileURLWithPath:)),
                                                      certificate: vauCertificate.map(URL.init(fileURLWithPath:)), directory: directory)
        let ocsp = try vauOcspResponse.map { Array(try Data(contentsOf: URL(fileURLWithPath: $0))) }
        return VAUSettings(transport: mode, key: key, certificateDER: Array(certificate.derRepresentation), ocspResponseDER: ocsp)
    }
}
