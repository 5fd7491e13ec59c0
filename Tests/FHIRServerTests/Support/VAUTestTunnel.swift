import AsyncHTTPClient
import Crypto
import FHIRServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import TICrypto
import VAUProtocol

/// Sends a test's requests through the VAU (issue 25) as a pharmacy system does: each request is
/// sealed for the server's certificate key with a fresh ephemeral key, posted to `/VAU/{up}`
/// with the last `Userpseudonym`, and the answer opened and checked against the request id. Needs
/// a live server (`.live`): the outer requests go over real HTTP.
final class VAUTestTunnel: @unchecked Sendable {
    let serverPoint: [UInt8]
    let makeEphemeral: @Sendable () throws -> any VAUEphemeralKeyAgreement
    private let lock = NSLock()
    private var pseudonym = "0"
    /// The outer answers, for tests of the outer headers.
    private(set) var lastOuter: (status: HTTPResponse.Status, headers: HTTPFields)?

    init(serverPoint: [UInt8], makeEphemeral: @escaping @Sendable () throws -> any VAUEphemeralKeyAgreement = { try BrainpoolP256r1.PrivateKey() }) {
        self.serverPoint = serverPoint
        self.makeEphemeral = makeEphemeral
    }

    struct OuterFailure: Error, CustomStringConvertible {
        let status: HTTPResponse.Status
        let body: String
        var description: String { "outer \(status.code): \(body)" }
    }

    func send(_ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields, body: [UInt8],
              through client: any TestClientProtocol) async throws -> InnerHTTPResponse {
        let token = headers[.authorization].map { String($0.dropFirst("Bearer ".count)) } ?? "none.none.none"
        let request = InnerHTTPRequest(head: HTTPRequest(method: method, scheme: "https", authority: "erx.test", path: uri, headerFields: headers),
                                       body: body)
        let call = try VAUClientCall(request, accessToken: token, serverPoint: serverPoint, ephemeral: try makeEphemeral())
        let up = lock.withLock { pseudonym }
        // A connection per call, as the outer answers to failures close theirs.
        var outerRequest = HTTPClientRequest(url: "http://127.0.0.1:\(client.port ?? 0)/VAU/\(up)")
        outerRequest.method = .POST
        outerRequest.headers.add(name: "Content-Type", value: "application/octet-stream")
        outerRequest.body = .bytes(call.body)
        let response = try await HTTPClient.shared.execute(outerRequest, timeout: .seconds(60))
        var outerHeaders = HTTPFields()
        for (name, value) in response.headers {
            if let field = HTTPField.Name(name) { outerHeaders.append(HTTPField(name: field, value: value)) }
        }
        let outerBody = Array(try await response.body.collect(upTo: 8 << 20).readableBytesView)
        let outer = (status: HTTPResponse.Status(code: Int(response.status.code)), headers: outerHeaders)
        lock.withLock {
            lastOuter = outer
            if let next = outer.headers[HTTPField.Name("Userpseudonym")!] { pseudonym = next }
        }
        guard outer.status == .ok else { throw OuterFailure(status: outer.status, body: String(decoding: outerBody, as: UTF8.self)) }
        return try call.open(outerBody)
    }
}
