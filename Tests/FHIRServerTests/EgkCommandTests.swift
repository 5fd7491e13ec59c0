import AsyncHTTPClient
import Dispensing
import FHIRModel
import FHIRServer
import Foundation
import NIOHTTP1
import StoreTestSupport
import Testing

/// The development flow a suite follows (README "eGK redemption"): `erx dev-pki` makes the VSDM
/// key, `erx serve --vsdm-keys` takes it, `erx egk-proof` makes the proof, `GET /Task` accepts it.
@Suite struct EgkCommandTests {
    func erx(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let finished = try ProcessLaunch.finish(ServerProcess.binary, arguments)
        return (finished.status, String(decoding: finished.output, as: UTF8.self))
    }

    /// `name=value` lines of `erx egk-proof`.
    func values(_ output: String) -> [String: String] {
        Dictionary(output.split(separator: "\n").compactMap { line -> (String, String)? in
            guard let equals = line.firstIndex(of: "=") else { return nil }
            return (String(line[..<equals]), String(line[line.index(after: equals)...]))
        }) { first, _ in first }
    }

    @Test func egkProofOfTheDevelopmentKeyIsAcceptedByTheServer() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("erx-egk-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let pki = root.appendingPathComponent("pki"), data = root.appendingPathComponent("data")
        #expect(try erx(["dev-pki", "--data", pki.path]).status == 0)
        let keyFile = pki.appendingPathComponent(VSDMKeySet.developmentFile)
        #expect(try VSDMKeySet.load(file: keyFile).keys.count == 1)

        let server = try await ServerProcess.start(arguments: ["serve", "--port", "0", "--data", data.path, "--accept-unsigned",
                                                              "--vsdm-keys", keyFile.path])
        defer { server.kill() }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let api = API(http: http, baseURL: server.baseURL, key: try DevelopmentSigningKey.loadOrCreate(in: data))
        do {
            let kvnr = "X123456788"
            for version in ["1", "2"] {
                let proof = try erx(["egk-proof", "--data", pki.path, "--kvnr", kvnr, "--version", version])
                #expect(proof.status == 0)
                let fields = values(proof.output)
                let pnw = try #require(fields["pnw"]), hcv = try #require(fields["hcv"])
                #expect(hcv == "F9ZD7cI", "the default VSD is the API's example")
                let reply = try await api.send(.GET, "/Task?kvnr=\(kvnr)&pnw=\(pnw)&hcv=\(hcv)", profession: .publicPharmacy,
                                               id: TestServer.pharmacyTelematikID)
                #expect(reply.status == 200, "version \(version)")
                #expect(reply.body?.value(of: "type") == "searchset")
            }
            // A proof for another KVNR is refused with the FD's 456; a PN3 with 454.
            let foreign = values(try erx(["egk-proof", "--data", pki.path, "--kvnr", "X999999999"]).output)
            let mismatch = try await api.send(.GET, "/Task?kvnr=\(kvnr)&pnw=\(foreign["pnw"] ?? "")", profession: .publicPharmacy,
                                              id: TestServer.pharmacyTelematikID)
            #expect(mismatch.status == 456)
            let offline = values(try erx(["egk-proof", "--data", pki.path, "--kvnr", kvnr, "--result", "3"]).output)
            let pn3 = try await api.send(.GET, "/Task?kvnr=\(kvnr)&pnw=\(offline["pnw"] ?? "")", profession: .publicPharmacy,
                                         id: TestServer.pharmacyTelematikID)
            #expect(pn3.status == 454)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    @Test func egkProofRefusesBadArguments() throws {
        #expect(try erx(["egk-proof", "--kvnr", "123"]).status != 0)
        #expect(try erx(["egk-proof", "--kvnr", "X123456788", "--version", "3"]).status != 0)
    }
}
