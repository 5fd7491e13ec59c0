import AsyncHTTPClient
import FHIRServer
import Foundation
import NIOCore
import NIOHTTP1
import StoreTestSupport
import Testing

/// The VAU end to end with the real binaries (issue 25): `erx serve --transport vau` makes its
/// development key and certificate, `erx token --alg BP256R1` a token of the development IDP, and
/// `erx vau-request` sends an insurant's read through the tunnel; the certificate is checked by
/// the openssl command line.
@Suite struct VAUCommandTests {
    @Test func anInsurantsReadThroughTheTunnelWithTheCommandLineTools() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-vau-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await ServerProcess.start(arguments: ["serve", "--port", "0", "--data", directory.path, "--transport", "vau"])
        defer { server.kill() }

        // The development certificate: brainpoolP256r1, holding the key's public half.
        let certificate = directory.appendingPathComponent(VAUKeyFiles.certificateFileName).path
        let text = try ProcessLaunch.openssl(["x509", "-in", certificate, "-noout", "-text"])
        #expect(text.status == 0)
        #expect(String(decoding: text.output, as: UTF8.self).contains("brainpoolP256r1"))
        let keyMode = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(VAUKeyFiles.keyFileName).path)[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let served = try await HTTPClient.shared.execute(HTTPClientRequest(url: server.baseURL + "/VAUCertificate"), timeout: .seconds(30))
        #expect(served.headers.first(name: "Content-Type") == "application/pkix-cert")
        let der = Array(try await served.body.collect(upTo: 1 << 16).readableBytesView)
        let fromPEM = try ProcessLaunch.openssl(["x509", "-in", certificate, "-outform", "DER"])
        #expect(der == Array(fromPEM.output))

        let token = try ProcessLaunch.finish(ServerProcess.binary, ["token", "--data", directory.path, "--alg", "BP256R1",
                                                                    "--profession-oid", "1.2.276.0.76.4.49", "--kvnr", "X234567890"])
        #expect(token.status == 0)
        let bearer = String(decoding: token.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let call = try ProcessLaunch.finish(ServerProcess.binary, ["vau-request", "--url", server.baseURL, "--token", bearer,
                                                                   "--header", "Accept: application/fhir+json", "/Task"])
        #expect(call.status == 0, "\(String(decoding: call.error, as: UTF8.self))")
        let answer = String(decoding: call.output, as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 200 "))
        #expect(answer.contains(#""resourceType":"Bundle""#))
        #expect(String(decoding: call.error, as: UTF8.self).contains("Userpseudonym: "))

        // The same read in plain is the outer server's 404 under --transport vau.
        var plain = HTTPClientRequest(url: server.baseURL + "/Task")
        plain.headers.add(name: "Authorization", value: "Bearer \(bearer)")
        #expect(try await HTTPClient.shared.execute(plain, timeout: .seconds(30)).status == .notFound)
    }
}
