import AsyncHTTPClient
import NIOHTTP1
import Crypto
import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TICrypto
import VAUProtocol

/// Every way a VAU call fails, answered as the production service answers it (fd-messaging-transport
/// §4.5): outside the tunnel as plain JSON when nothing could be decrypted (IBM
/// `VauRequestHandler::handleRequest`), inside it, encrypted, once the response key is known.
@Suite struct VAUFailureTests {
    let serverKey: BrainpoolP256r1.PrivateKey

    init() throws {
        serverKey = try BrainpoolP256r1.PrivateKey()
    }

    func withServer(_ body: @Sendable (TestServer, any TestClientProtocol) async throws -> Void) async throws {
        var configured = try await TestServer()
        configured.env.vau = VAUSettings(transport: .both, key: serverKey, certificateDER: Array("DER".utf8))
        let server = configured
        defer { Task { await server.remove() } }
        try await Application(router: server.router).test(.live) { client in try await body(server, client) }
    }

    /// The outer answer; each call on a connection of its own, because failures close theirs.
    struct Outer {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let bytes: [UInt8]
    }

    func post(_ body: [UInt8], _ client: any TestClientProtocol, up: String = "0") async throws -> Outer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(try #require(client.port))/VAU/\(up)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.headers.add(name: "X-Request-Id", value: "req-1")
        request.body = .bytes(body)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        var headers = HTTPFields()
        for (name, value) in response.headers { headers.append(HTTPField(name: try #require(HTTPField.Name(name)), value: value)) }
        let bytes = Array(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        return Outer(status: HTTPResponse.Status(code: Int(response.status.code)), headers: headers, bytes: bytes)
    }

    func outerJSON(_ response: Outer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.bytes)) as? [String: Any])
    }

    /// A sealed `p` for this server, with the client's response key.
    func seal(_ p: [UInt8]) throws -> [UInt8] {
        try VAURequestBody.seal(p, serverPoint: serverKey.uncompressedPublicPoint, ephemeral: try BrainpoolP256r1.PrivateKey())
    }

    @Test func A_20163_outerFailuresArePlainJSONWithTheServicesTexts() async throws {
        try await withServer { _, client in
            let short = try await post(Array(repeating: 1, count: 92), client)
            #expect(short.status == .badRequest)
            #expect(short.headers[.contentType] == "application/json")
            #expect(short.headers[.connection] == "close")
            let json = try outerJSON(short)
            #expect(json["error"] as? String == "vau decryption failed: ErpException body is too short to be a outer request body")
            #expect(json["x-request-id"] as? String == "req-1")
            #expect(json["status"] as? Int == 400)

            var tampered = try seal(Array("1 a.b.c 00 00112233445566778899aabbccddeeff GET / HTTP/1.1\r\n\r\n".utf8))
            tampered[80] ^= 0x01
            #expect(try outerJSON(await post(tampered, client))["error"] as? String
                == "vau decryption failed: AesGcmException can't finalize AES-GCM decryption;")

            var version = try seal(Array("x".utf8))
            version[0] = 2
            #expect(try outerJSON(await post(version, client))["error"] as? String == "vau decryption failed: AesGcmException invalid TEE version")

            let offCurve: [UInt8] = [0x01] + Array(repeating: 0x07, count: 64) + Array(repeating: 0, count: 40)
            let point = try await post(offCurve, client)
            #expect(point.status == .badRequest)
            #expect(try outerJSON(point)["error"] as? String == "vau decryption failed: ErpException Unable to create public key from message data")

            let key = try await post(seal(Array("1 a.b.c 00 0011 GET / HTTP/1.1\r\n\r\n".utf8)), client)
            #expect(try outerJSON(key)["error"] as? String == "vau decryption failed: AesGcmException AES key has wrong size")

            // A token that is not even three parts fails before the inner request exists: 401 outside.
            let token = try await post(seal(Array("1 notajwt 00 00112233445566778899aabbccddeeff GET / HTTP/1.1\r\n\r\n".utf8)), client)
            #expect(token.status == .unauthorized)
            #expect(try outerJSON(token)["error"] as? String == "vau decryption failed: JwtException JWT has invalid format")
        }
    }

    /// Sends one inner request with `p`'s token `pToken`, returns the outer answer and the inner one.
    func call(_ inner: String, pToken: String, _ client: any TestClientProtocol, up: String = "0") async throws -> (Outer, InnerHTTPResponse) {
        let responseKey = SymmetricKey(size: .bits128)
        let p = VAUPlaintext.assemble(accessToken: pToken, requestID: "0123456789abcdef0123456789abcdef",
                                      responseKey: responseKey.withUnsafeBytes { Array($0) }, innerRequest: Array(inner.utf8))
        let outer = try await post(seal(p), client, up: up)
        #expect(outer.status == .ok)
        #expect(outer.headers[.contentType] == "application/octet-stream")
        let opened = try VAUResponseBody.open(outer.bytes, requestID: "0123456789abcdef0123456789abcdef", key: responseKey)
        return (outer, try InnerHTTPResponse(parsing: opened))
    }

    func text(_ response: InnerHTTPResponse) throws -> String? {
        try FHIRFormat.json.read(response.body).resource.child("issue")?.descendant("details", "text")?.value
    }

    @Test func innerFailuresAreEncryptedAnswersInsideTheTunnel() async throws {
        try await withServer { server, client in
            let token = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
            // The inner Authorization must be the token of p (IBM `handleInnerRequest`).
            let (mismatchOuter, mismatch) = try await call("GET /Task HTTP/1.1\r\nHost: e\r\nAuthorization: Bearer x.y.z\r\nAccept: application/fhir+json\r\n\r\n",
                                                           pToken: token, client)
            #expect(mismatch.status == .badRequest)
            #expect(try text(mismatch) == "Authorization header is invalid")
            #expect(mismatchOuter.headers[.connection] == "close")
            let (_, missing) = try await call("GET /Task HTTP/1.1\r\nHost: e\r\nAccept: application/fhir+json\r\n\r\n", pToken: token, client)
            #expect(try text(missing) == "Authorization header is missing")
            let (_, basic) = try await call("GET /Task HTTP/1.1\r\nHost: e\r\nAuthorization: Basic x\r\nAccept: application/fhir+json\r\n\r\n", pToken: token, client)
            #expect(try text(basic) == "invalid Authorization Bearer header field")
            // A_28427: no byte order mark before the inner body.
            let bom = "POST /Task/$create HTTP/1.1\r\nHost: e\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/fhir+json\r\nAccept: application/fhir+json\r\nContent-Length: 5\r\n\r\n\u{FEFF}{}"
            let (_, bomAnswer) = try await call(bom, pToken: token, client)
            #expect(bomAnswer.status == .badRequest)
            #expect(try text(bomAnswer) == "illegal BOM before inner request body")
            // A_19030 and siblings: an inner method and path no route answers is 405 inside.
            let (_, unknown) = try await call("PATCH /Task HTTP/1.1\r\nHost: e\r\nAuthorization: Bearer \(token)\r\nAccept: application/fhir+json\r\nContent-Length: 0\r\n\r\n",
                                              pToken: token, client)
            #expect(unknown.status == .methodNotAllowed)
            #expect(try text(unknown) == "no matching handler found.")
            // A token that does not verify: 401 inside, with the service's challenge.
            let forged = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA"
            let (_, unauthorized) = try await call("GET /Task HTTP/1.1\r\nHost: e\r\nAuthorization: Bearer \(forged)\r\nAccept: application/fhir+json\r\n\r\n",
                                                   pToken: forged, client)
            #expect(unauthorized.status == .unauthorized)
            #expect(unauthorized.headerFields[.wwwAuthenticate] == ErrorSeam.invalidTokenChallenge)
            // Not HTTP at all.
            let (_, garbage) = try await call("NOT HTTP", pToken: token, client)
            #expect(garbage.status == .badRequest)
        }
    }

    @Test func A_20703_aBruteForceCodeIsCopiedToTheOuterAnswer() async throws {
        try await withServer { server, client in
            let doctor = try await server.token(.doctorsPractice, id: TestServer.doctorTelematikID)
            let pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
            let tunnel = VAUTestTunnel(serverPoint: serverKey.uncompressedPublicPoint)
            let json = Client(client: client, format: .json, server: server, tunnel: tunnel)
            let created = try await json.send(.post, "/Task/$create", token: doctor, body: Bodies.createParameters())
            let id = try #require(try created.resource().value(of: "id"))
            let accessCode = try #require(try created.resource().children(named: "identifier").first { $0.value(of: "system") == Systems.accessCode }?.value(of: "value"))
            _ = try await json.send(.post, "/Task/\(id)/$activate", token: doctor, body: Bodies.prescription(id: id, authoredOn: "2026-10-01"),
                                    headers: [HTTPField.Name("X-AccessCode")!: accessCode])
            let wrong = try await json.send(.post, "/Task/\(id)/$accept?ac=\(String(repeating: "0", count: 64))", token: pharmacy)
            #expect(wrong.status == .forbidden)
            #expect(tunnel.lastOuter?.status == .ok)
            #expect(tunnel.lastOuter?.headers[HTTPField.Name("VAU-Error-Code")!] == "brute_force")
        }
    }

    @Test func A_20175_aUserPseudonymThatVerifiesIsKeptAnyOtherReplaced() async throws {
        try await withServer { server, client in
            let token = try await server.token(.insurant, id: TestServer.kvnr)
            let request = "GET /Task HTTP/1.1\r\nHost: e\r\nAuthorization: Bearer \(token)\r\nAccept: application/fhir+json\r\n\r\n"
            let (first, _) = try await call(request, pToken: token, client, up: "0")
            let pseudonym = try #require(first.headers[HTTPField.Name("Userpseudonym")!])
            #expect(pseudonym.count == 65)
            let (second, _) = try await call(request, pToken: token, client, up: pseudonym)
            #expect(second.headers[HTTPField.Name("Userpseudonym")!] == pseudonym)
            let forged = String(pseudonym.prefix(33)) + String(repeating: "0", count: 32)
            let (third, _) = try await call(request, pToken: token, client, up: forged)
            let replaced = try #require(third.headers[HTTPField.Name("Userpseudonym")!])
            #expect(replaced != forged && replaced != pseudonym)
        }
    }

    @Test func theCertificateIsServedAndTheOCSPRouteAnswers404WithoutOne() async throws {
        try await withServer { _, client in
            let certificate = try await client.execute(uri: "/VAUCertificate", method: .get, headers: [:], body: nil)
            #expect(certificate.status == .ok)
            #expect(certificate.headers[.contentType] == "application/pkix-cert")
            #expect(Array(certificate.body.readableBytesView) == Array("DER".utf8))
            let ocsp = try await client.execute(uri: "/VAUCertificateOCSPResponse", method: .get, headers: [:], body: nil)
            #expect(ocsp.status == .notFound)
        }
    }

    @Test func aConfiguredOCSPResponseIsServedBesideTheCertificate() async throws {
        var configured = try await TestServer()
        configured.env.vau = VAUSettings(transport: .vau, key: serverKey, certificateDER: Array("DER".utf8), ocspResponseDER: [0x30, 0x03, 0x0a, 0x01, 0x00])
        let server = configured
        defer { Task { await server.remove() } }
        try await Application(router: server.router).test(.router) { client in
            let ocsp = try await client.execute(uri: "/VAUCertificateOCSPResponse", method: .get, headers: [:], body: nil)
            #expect(ocsp.status == .ok)
            #expect(ocsp.headers[.contentType] == "application/ocsp-response")
            #expect(Array(ocsp.body.readableBytesView) == [0x30, 0x03, 0x0a, 0x01, 0x00])
        }
    }
}
