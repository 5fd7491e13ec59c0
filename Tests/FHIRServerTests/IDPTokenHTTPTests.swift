import AsyncHTTPClient
import FHIRServer
import Foundation
import NIOCore
import NIOHTTP1
import StoreTestSupport
import Testing

/// Issue 25 items 3 and 4 over real HTTP against `erx serve`: BP256R1 access tokens as the TI's IDP
/// signs them (fd-messaging-transport §3), verified against the IDP's key or certificate
/// (`--auth idp:FILE`) or the development IDP key (`--auth dev`), with the FD's 401 answers
/// (A_20365-01 signature, A_20370 aud, A_20374 exp), and the per-`sub` limit of A_19992 (429).
/// The IDP's key and certificate are made by the openssl command line, not by erx.
@Suite(.serialized) struct IDPTokenHTTPTests {
    static let kvnr = "X234567890"
    static let insurantOID = "1.2.276.0.76.4.49"
    static let audience = "https://erp.erx.invalid/login"

    /// The shared client needs no shutdown, so a test that throws midway cannot trap in its deinit
    /// (the server processes die with their `ChildProcess`).
    let http = HTTPClient.shared
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-idp-\(UUID().uuidString)")

    /// A token of `erx token` with the data directory `data`.
    func token(data: URL, _ extra: [String] = [], kvnr: String = kvnr) throws -> String {
        let finished = try ProcessLaunch.finish(ServerProcess.binary, ["token", "--data", data.path, "--profession-oid", Self.insurantOID, "--kvnr", kvnr] + extra)
        #expect(finished.status == 0, "\(String(decoding: finished.error, as: UTF8.self))")
        return String(decoding: finished.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `GET /Task` with `token`: the status, the first issue's text and the response's headers.
    func get(_ server: ServerProcess, token: String) async throws -> (status: Int, text: String?, headers: HTTPHeaders) {
        var request = HTTPClientRequest(url: server.baseURL + "/Task")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/fhir+json")
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        let issue = (json?["issue"] as? [[String: Any]])?.first
        let text = (issue?["details"] as? [String: Any])?["text"] as? String ?? issue?["diagnostics"] as? String
        return (Int(response.status.code), text, response.headers)
    }

    func finish(_ servers: ServerProcess...) async {
        servers.forEach { $0.kill() }
        try? FileManager.default.removeItem(at: directory)
    }

    func openssl(_ arguments: [String]) throws {
        let finished = try ProcessLaunch.openssl(arguments)
        #expect(finished.status == 0, "\(String(decoding: finished.error, as: UTF8.self))")
    }

    @Test("--auth dev: a BP256R1 token of erx token --alg BP256R1 is accepted, beside ES256; a tampered one is 401")
    func developmentIDPTokens() async throws {
        let data = directory.appendingPathComponent("data")
        let server = try await ServerProcess.start(arguments: ["serve", "--port", "0", "--data", data.path])
        let brainpool = try token(data: data, ["--alg", "BP256R1"])
        #expect(brainpool.hasPrefix("eyJ"))
        let header = try #require(Data(base64Encoded: String(brainpool.split(separator: ".")[0]) + "="))
        #expect(String(decoding: header, as: UTF8.self).contains("\"alg\":\"BP256R1\""))
        #expect(try await get(server, token: brainpool).status == 200)
        #expect(try await get(server, token: try token(data: data)).status == 200)
        // The key file is the owner's only, and a second start keeps it.
        let attributes = try FileManager.default.attributesOfItem(atPath: data.appendingPathComponent(DevelopmentIDPKey.fileName).path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let tampered = try await get(server, token: Self.tampered(brainpool))
        #expect(tampered.status == 401)
        #expect(tampered.text == "JWT has invalid signature")
        await finish(server)
    }

    @Test("--auth idp:CERT (A_20365-01, A_20370, A_20374): good 200; tampered, other key, ES256, expired, wrong aud 401 as the FD")
    func idpTokens() async throws {
        // The IDP: a brainpool key and certificate of openssl's, the key placed where erx token signs with it.
        let idpData = directory.appendingPathComponent("idp")
        try FileManager.default.createDirectory(at: idpData, withIntermediateDirectories: true)
        let keyFile = idpData.appendingPathComponent(DevelopmentIDPKey.fileName).path
        let certificateFile = directory.appendingPathComponent("idp-sig.pem").path
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1", "-out", keyFile])
        try openssl(["req", "-x509", "-key", keyFile, "-subj", "/C=DE/O=erx test IDP/CN=IDP Sig 1", "-days", "2", "-out", certificateFile])
        let server = try await ServerProcess.start(arguments: [
            "serve", "--port", "0", "--data", directory.appendingPathComponent("server").path,
            "--auth", "idp:\(certificateFile)", "--token-audience", Self.audience,
        ])
        let good = try token(data: idpData, ["--alg", "BP256R1", "--audience", Self.audience])
        #expect(try await get(server, token: good).status == 200)

        let other = directory.appendingPathComponent("other")
        let cases: [(String, String, String)] = [
            ("tampered signature", Self.tampered(good), "JWT has invalid signature"),
            ("another IDP's key", try token(data: other, ["--alg", "BP256R1", "--audience", Self.audience]), "JWT has invalid signature"),
            ("ES256 (alg mismatch)", try token(data: idpData), "JWT has invalid signature"),
            ("expired", try token(data: idpData, ["--alg", "BP256R1", "--audience", Self.audience, "--lifetime=-5"]), "JWT expired"),
            ("another aud", try token(data: idpData, ["--alg", "BP256R1", "--audience", "https://elsewhere.invalid"]), "JWT has invalid aud claim"),
            ("no aud", try token(data: idpData, ["--alg", "BP256R1"]), "JWT has invalid aud claim"),
        ]
        for (name, token, text) in cases {
            let answer = try await get(server, token: token)
            #expect(answer.status == 401, "\(name)")
            #expect(answer.text == text, "\(name)")
            #expect(answer.headers["WWW-Authenticate"].first == "Bearer realm='prescriptionserver.telematik', error='invalACCESS_TOKEN'", "\(name)")
        }
        // The same IDP given as its bare public key (PEM) instead of the certificate.
        let publicKeyFile = directory.appendingPathComponent("idp-sig.pub.pem").path
        try openssl(["pkey", "-in", keyFile, "-pubout", "-out", publicKeyFile])
        let byKey = try await ServerProcess.start(arguments: [
            "serve", "--port", "0", "--data", directory.appendingPathComponent("server2").path, "--auth", "idp:\(publicKeyFile)",
        ])
        #expect(try await get(byKey, token: good).status == 200)
        #expect(try await get(byKey, token: Self.tampered(good)).status == 401)
        await finish(server, byKey)
    }

    @Test("A_19992: the call over --token-rate-limit blocks that sub (429, VAU-Error-Code brute_force); other subs go on")
    func rateLimitPerSub() async throws {
        let data = directory.appendingPathComponent("data")
        let server = try await ServerProcess.start(arguments: [
            "serve", "--port", "0", "--data", data.path, "--token-rate-limit", "3", "--token-rate-window-ms", "60000",
        ])
        let busy = try token(data: data, ["--alg", "BP256R1"])
        // A second token of the same holder has the same sub, and shares the count.
        let sameSub = try token(data: data, ["--alg", "BP256R1"])
        #expect(busy != sameSub)
        for _ in 0..<2 { #expect(try await get(server, token: busy).status == 200) }
        #expect(try await get(server, token: sameSub).status == 200)
        for _ in 0..<2 {
            let refused = try await get(server, token: busy)
            #expect(refused.status == 429)
            #expect(refused.text == "Token with given sub used too often within certain timespan.")
            #expect(refused.headers["VAU-Error-Code"].first == "brute_force")
        }
        #expect(try await get(server, token: sameSub).status == 429)
        #expect(try await get(server, token: try token(data: data, ["--alg", "BP256R1"], kvnr: "X234567891")).status == 200)
        await finish(server)
    }

    /// The token with one bit of its signature's first byte flipped (still base64url).
    static func tampered(_ token: String) -> String {
        var parts = token.split(separator: ".").map(String.init)
        var signature = Array(parts[2].utf8)
        signature[0] = signature[0] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        parts[2] = String(decoding: signature, as: UTF8.self)
        return parts.joined(separator: ".")
    }
}
