import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SQLiteStore
import Testing

/// Issue 19, item 4: an error answer never fails. Whatever a bad body held, the answer is an
/// OperationOutcome in the negotiated format, with texts either writer can carry and no values.
@Suite struct ErrorAnswerTests {
    /// Sends `body` raw to `$dispense` of a task in progress, answers asked in `accept`.
    private func dispenseRaw(_ body: [UInt8], contentType: String, accept: String) async throws -> (HTTPResponse.Status, HTTPFields, [UInt8]) {
        let server = try await TestServer()
        defer { Task { await server.remove() } }
        return try await Application(router: server.router).test(.router) { client in
            let wrapped = Client(client: client, format: .json, server: server)
            let task = try await TaskFactory(client: wrapped).prepare(.inProgress)
            let pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
            let response = try await client.execute(
                uri: "/Task/\(task.id)/$dispense?secret=\(task.secret)", method: .post,
                headers: [.authorization: "Bearer \(pharmacy)", .contentType: contentType, .accept: accept],
                body: ByteBuffer(bytes: body))
            return (response.status, response.headers, Array(response.body.readableBytesView))
        }
    }

    /// An unknown element whose name holds U+FFFE and a control character: the JSON reader names
    /// it, and the XML answer could not carry the name (this answered `500 text/plain`).
    @Test(arguments: ["application/fhir+xml", "application/fhir+json"])
    func unknownElementNamesWithCharactersXMLCannotCarryAreAnswered400(accept: String) async throws {
        let body = Array(#"{"resourceType":"Parameters","\uFFFE\u0001x":1}"#.utf8)
        let (status, headers, bytes) = try await dispenseRaw(body, contentType: "application/fhir+json", accept: accept)
        #expect(status == .badRequest)
        #expect(headers[.contentType]?.hasPrefix(accept) == true)
        let format: FHIRFormat = accept.contains("xml") ? .xml : .json
        let outcome = try #require(OperationOutcome(try format.read(bytes).resource))
        // The FD's text leads (fd-parity §7.4: 400 → invalid); the reader's issue follows.
        #expect(outcome.issues.map(\.code) == [.invalid, .structure])
        #expect(outcome.issues.allSatisfy { !$0.text.contains("\u{FFFE}") })
    }

    /// A NUL byte and garbage after the root element were accepted (204): XML allows no NUL.
    @Test func xmlFollowedByANulAndGarbageIsRefused() async throws {
        let server = try await TestServer()
        defer { Task { await server.remove() } }
        let (status, bytes): (HTTPResponse.Status, [UInt8]) = try await Application(router: server.router).test(.router) { client in
            let wrapped = Client(client: client, format: .xml, server: server)
            let task = try await TaskFactory(client: wrapped).prepare(.inProgress)
            let pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
            let body = try FHIRFormat.xml.write(try Bodies.dispense(id: task.id, count: 1)) + [0] + Array("<garbage/>".utf8)
            let response = try await client.execute(
                uri: "/Task/\(task.id)/$dispense?secret=\(task.secret)", method: .post,
                headers: [.authorization: "Bearer \(pharmacy)", .contentType: "application/fhir+xml", .accept: "application/fhir+xml"],
                body: ByteBuffer(bytes: body))
            #expect(try await server.store.dispensations(of: PrescriptionID(task.id)!).isEmpty)
            return (response.status, Array(response.body.readableBytesView))
        }
        #expect(status == .badRequest)
        let outcome = try #require(OperationOutcome(try FHIRFormat.xml.read(bytes).resource))
        #expect(outcome.issues.contains { $0.text.contains("NUL") })
    }

    /// A declared encoding other than UTF-8 is refused without echoing the declaration.
    @Test func foreignEncodingDeclarationIsNotEchoed() async throws {
        let body = Array(#"<?xml version="1.0" encoding="X-SECRET-VALUE"?><Parameters xmlns="http://hl7.org/fhir"/>"#.utf8)
        let (status, _, bytes) = try await dispenseRaw(body, contentType: "application/fhir+xml", accept: "application/fhir+json")
        #expect(status == .badRequest)
        #expect(!String(decoding: bytes, as: UTF8.self).contains("SECRET"))
    }

    /// Any error the seam does not know is a 500 OperationOutcome in the negotiated format with a
    /// fixed text, never the error's description.
    @Test(arguments: ["application/fhir+xml", "application/fhir+json"])
    func unknownErrorsAreA500OperationOutcome(accept: String) async throws {
        struct Leaky: Error, CustomStringConvertible { var description: String { "KVNR X234567890" } }
        let router = Router(context: ErxRequestContext.self)
        router.add(middleware: ErrorSeamMiddleware())
        router.get("/boom") { _, _ -> Response in throw Leaky() }
        try await Application(router: router).test(.router) { client in
            let response = try await client.execute(uri: "/boom", method: .get, headers: [.accept: accept])
            #expect(response.status == .internalServerError)
            #expect(response.headers[.contentType]?.hasPrefix(accept) == true)
            let bytes = Array(response.body.readableBytesView)
            let format: FHIRFormat = accept.contains("xml") ? .xml : .json
            let outcome = try #require(OperationOutcome(try format.read(bytes).resource))
            #expect(outcome.issues.first?.code == .exception)
            #expect(!String(decoding: bytes, as: UTF8.self).contains("X234567890"))
        }
    }

    @Test func writableTextsAreValidFHIRStringsOfBoundedLength() {
        #expect(OperationOutcome.writable("plain") == "plain")
        #expect(OperationOutcome.writable("") == "(none)")
        #expect(OperationOutcome.writable("a\u{0}b\u{FFFE}c\u{FFFF}\td") == "a\u{FFFD}b\u{FFFD}c\u{FFFD}\td")
        let long = OperationOutcome.writable(String(repeating: "x", count: 5_000), limit: 100)
        #expect(long.count == 101 && long.hasSuffix("…"))
        // Every outcome element, whatever its texts, is writable as XML.
        let outcome = OperationOutcome(issues: [.init(code: .structure, text: "\u{1}\u{FFFE}", diagnostics: "", expression: ["\u{7}"])])
        #expect(throws: Never.self) { try FHIRFormat.xml.write(outcome.element) }
    }
}
