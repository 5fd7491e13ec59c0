import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import HummingbirdTesting
import StoreTestSupport
import Testing

/// Replays every scenario of `fixtures/scenarios/` (see its README) against the router, in JSON and
/// in XML, and checks status, issue code and expression.
@Suite struct ScenarioReplayTests {
    struct Scenario: Decodable {
        struct Request: Decodable {
            var method: String
            var path: String
            var caller: String
            var body: String?
            var rawBody: String?
            var bodySize: Int?
            var edits: [[String]]?
            var contentType: String?
            var accept: String?
            var headers: [String: String]?
        }

        struct Expectation: Decodable {
            var status: Int
            var issueCode: String?
            var expression: String?
            var header: [String: String]?
            /// The resource type of the answer body (`Bundle`, `Task`, `OperationOutcome`).
            var resourceType: String?
            /// Texts the answer body must contain (as bytes, in the replay format).
            var bodyContains: [String]?
            /// The answer has no body (`HEAD`, `GET /`).
            var bodyEmpty: Bool?
        }

        var title: String
        var rule: String
        /// The server's `--rules` the scenario needs (`fd`, the default, or `strict`).
        var rules: String?
        var task: TaskFactory.State
        var formats: [String]?
        var request: Request
        var expect: Expectation
    }

    static let directory = Bodies.fixtures.appendingPathComponent("scenarios")

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
    }

    @Test func thereAreScenarios() {
        #expect(Self.files.count >= 20)
    }

    /// Every scenario on both stores (issue 21): nothing above the store port may tell them apart.
    @Test(arguments: files, StoreKind.allCases)
    func replay(file: String, store: StoreKind) async throws {
        let scenario = try JSONDecoder().decode(Scenario.self, from: Data(contentsOf: Self.directory.appendingPathComponent(file)))
        var configured = try await TestServer(store: store)
        configured.env.service.rules = DispensingPolicy(rawValue: scenario.rules ?? "fd") ?? .fd
        let server = configured
        defer { Task { await server.remove() } }
        #expect(DispensingPolicy(rawValue: scenario.rules ?? "fd") != nil, "\(file): rules")
        let app = Application(router: server.router)
        for formatName in scenario.formats ?? ["json", "xml"] {
            let format = WireFormat(rawValue: formatName)!
            try await app.test(.router) { client in
                let client = Client(client: client, format: format, server: server)
                let prepared = try await TaskFactory(client: client).prepare(scenario.task)
                let reply = try await send(scenario, prepared, client)
                let context = "\(file) [\(formatName)]: \(String(decoding: reply.bytes.prefix(600), as: UTF8.self))"
                #expect(Int(reply.status.code) == scenario.expect.status, "\(context)")
                if let code = scenario.expect.issueCode {
                    #expect(try reply.issueCode() == code, "\(context)")
                }
                if let expression = scenario.expect.expression {
                    let expressions = try reply.resource().children(named: "issue").flatMap { $0.children(named: "expression").compactMap(\.value) }
                    #expect(expressions.contains(expression), "\(context)")
                }
                if let resourceType = scenario.expect.resourceType {
                    #expect(try reply.resource().name == resourceType, "\(context)")
                }
                let answer = String(decoding: reply.bytes, as: UTF8.self)
                for text in (scenario.expect.bodyContains ?? []).map({ $0.replacingOccurrences(of: "{{id}}", with: prepared.id) })
                where !answer.contains(text) {
                    Issue.record("\(file) [\(formatName)]: the answer does not contain \(text)")
                }
                for (name, value) in scenario.expect.header ?? [:] {
                    let expected = value.replacingOccurrences(of: "{{mediaType}}", with: client.mediaType)
                    #expect(reply.headers[HTTPField.Name(name)!] == expected, "\(context)")
                }
                if scenario.expect.bodyEmpty == true {
                    #expect(reply.bytes.isEmpty, "\(context)")
                }
            }
        }
    }

    func send(_ scenario: Scenario, _ prepared: TaskFactory.Prepared, _ client: Client) async throws -> Reply {
        func fill(_ text: String) -> String {
            text.replacingOccurrences(of: "{{id}}", with: prepared.id)
                .replacingOccurrences(of: "{{secret}}", with: prepared.secret)
                .replacingOccurrences(of: "{{accessCode}}", with: prepared.accessCode)
                .replacingOccurrences(of: "{{kvnr}}", with: TestServer.kvnr)
                .replacingOccurrences(of: "{{telematikID}}", with: TestServer.pharmacyTelematikID)
                .replacingOccurrences(of: "{{mediaType}}", with: client.mediaType)
        }
        let request = scenario.request
        var headers = HTTPFields()
        // `accept: "none"` sends no Accept header.
        if request.accept != "none" { headers[.accept] = request.accept.map(fill) ?? client.mediaType }
        if let token = try await token(request.caller, client.server) { headers[.authorization] = "Bearer \(token)" }
        for (name, value) in request.headers ?? [:] { headers[HTTPField.Name(name)!] = fill(value) }
        var body: ByteBuffer?
        if let file = request.body {
            var text = try String(contentsOf: Self.directory.appendingPathComponent(file), encoding: .utf8)
            for edit in request.edits ?? [] where edit.count == 2 { text = text.replacingOccurrences(of: edit[0], with: edit[1]) }
            let resource = try FHIRFormat.json.read(Array(fill(text).utf8)).resource
            body = ByteBuffer(bytes: try client.format.fhirFormat.write(resource))
        } else if let raw = request.rawBody {
            body = ByteBuffer(string: fill(raw))
        } else if let size = request.bodySize {
            body = ByteBuffer(repeating: UInt8(ascii: " "), count: size)
        }
        // `contentType: "none"` sends the body without a Content-Type header.
        if body != nil, request.contentType != "none" { headers[.contentType] = request.contentType.map(fill) ?? client.mediaType + ";charset=utf-8" }
        let response = try await client.client.execute(uri: fill(request.path), method: HTTPRequest.Method(request.method)!, headers: headers, body: body)
        return Reply(response: response, format: client.format)
    }

    func token(_ caller: String, _ server: TestServer) async throws -> String? {
        switch caller {
        case "none": nil
        case "invalid": "eyJhbGciOiJFUzI1NiJ9.eyJwcm9mZXNzaW9uT0lEIjoiMS4yLjI3Ni4wLjc2LjQuNTQifQ.c2lnbmF0dXJl"
        case "pharmacy": try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
        case "hospitalPharmacy": try await server.token(.hospitalPharmacy, id: TestServer.pharmacyTelematikID)
        case "otherPharmacy": try await server.token(.publicPharmacy, id: TestServer.otherPharmacyTelematikID)
        case "pharmacyWithoutTelematikID": try await server.token(.publicPharmacy, id: nil)
        case "doctor": try await server.token(.doctorsPractice, id: TestServer.doctorTelematikID)
        case "insurant": try await server.token(.insurant, id: TestServer.kvnr)
        case "otherInsurant": try await server.token(.insurant, id: "Y123456789")
        default: throw UnknownCaller(name: caller)
        }
    }

    struct UnknownCaller: Error { let name: String }
}
