import ArgumentParser
import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import TICrypto
import VAUProtocol

/// `erx vau-request`: one request through a VAU, for debugging (issue 25). Seals the request for the
/// VAU certificate's key (a file, or the server's `GET /VAUCertificate`), posts it to
/// `/VAU/{pseudonym}`, opens the answer and prints the inner HTTP response.
struct VAURequestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vau-request", abstract: "Send one request through the VAU tunnel and print the inner answer."
    )

    @Option(help: "The server's base URL.")
    var url = "http://127.0.0.1:8080"

    @Option(help: "The access token (Authorization: Bearer …), e.g. from `erx token --alg BP256R1`.")
    var token: String

    @Option(help: "The inner method.")
    var method = "GET"

    @Option(name: .customLong("header"), help: "An inner header, 'Name: value' (repeatable).")
    var headers: [String] = []

    @Option(help: "A file whose bytes are the inner body ('-': standard input).")
    var body: String?

    @Option(help: "The VAU's certificate (PEM or DER) to encrypt for; default: the server's GET /VAUCertificate, unverified.")
    var certificate: String?

    @Option(help: "The user pseudonym path segment.")
    var pseudonym = "0"

    @Argument(help: "The inner path with its query, e.g. /Task?status=ready")
    var path: String

    func run() async throws {
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await send(base: base, http: http)
            try await http.shutdown()
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    private func send(base: String, http: HTTPClient) async throws {
        let certified = try await vauCertificate(base: base, http: http)
        var fields = HTTPFields()
        fields[.authorization] = "Bearer \(token)"
        for header in headers {
            guard let colon = header.firstIndex(of: ":"), let name = HTTPField.Name(String(header[..<colon])) else {
                throw ValidationError("--header must be 'Name: value'")
            }
            fields.append(HTTPField(name: name, value: header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let bytes: [UInt8] = try body.map { $0 == "-" ? Array(FileHandle.standardInput.readDataToEndOfFile()) : Array(try Data(contentsOf: URL(fileURLWithPath: $0))) } ?? []
        let inner = InnerHTTPRequest(head: HTTPRequest(method: HTTPRequest.Method(method) ?? .get, scheme: "https",
                                                       authority: URL(string: base)?.host ?? "erx", path: path, headerFields: fields),
                                     body: bytes)
        let call = try VAUClientCall(inner, accessToken: token, serverPoint: Array(certified.publicKey.x963Representation),
                                     ephemeral: try BrainpoolP256r1.PrivateKey())
        var request = HTTPClientRequest(url: "\(base)/VAU/\(pseudonym)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .bytes(call.body)
        let response = try await http.execute(request, timeout: .seconds(60))
        let outer = Array(try await response.body.collect(upTo: 16 << 20).readableBytesView)
        guard response.status == .ok else {
            // Outside the tunnel: the server could not open the request; its JSON says why.
            FileHandle.standardError.write(Data("outer \(response.status.code): \(String(decoding: outer, as: UTF8.self))\n".utf8))
            throw ExitCode(2)
        }
        if let next = response.headers.first(name: "Userpseudonym") {
            FileHandle.standardError.write(Data("Userpseudonym: \(next)\n".utf8))
        }
        let answer = try call.open(outer)
        FileHandle.standardOutput.write(Data(answer.serialized()))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    private func vauCertificate(base: String, http: HTTPClient) async throws -> BrainpoolP256r1.Certificate {
        if let certificate {
            let data = try Data(contentsOf: URL(fileURLWithPath: certificate))
            if let pem = String(data: data, encoding: .utf8), pem.contains("-----BEGIN") {
                return try BrainpoolP256r1.Certificate(pemRepresentation: pem)
            }
            return try BrainpoolP256r1.Certificate(derRepresentation: data)
        }
        let response = try await http.execute(HTTPClientRequest(url: "\(base)/VAUCertificate"), timeout: .seconds(30))
        guard response.status == .ok else { throw ValidationError("GET /VAUCertificate answered \(response.status.code)") }
        return try BrainpoolP256r1.Certificate(derRepresentation: Data(try await response.body.collect(upTo: 1 << 16).readableBytesView))
    }
}
