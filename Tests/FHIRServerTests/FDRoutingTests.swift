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

/// Issue 20, items 1, 2, 5, 6 and 7 over a real socket: 405 versus 404, the FD's check order, the
/// headers, `GET /`, `GET /Device`, `HEAD`, `Location`, `WWW-Authenticate`.
@Suite struct FDRoutingTests {
    /// Runs `body` against a fresh server on loopback.
    private func live(_ body: @escaping @Sendable (TestServer, any TestClientProtocol) async throws -> Void) async throws {
        let server = try await TestServer()
        defer { Task { await server.remove() } }
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in try await body(server, client) }
    }

    private func text(_ response: TestResponse) throws -> String? {
        let bytes = Array(response.body.readableBytesView)
        let format: FHIRFormat = response.headers[.contentType]?.contains("json") == true ? .json : .xml
        return try format.read(bytes).resource.child("issue")?.child("details")?.value(of: "text")
    }

    /// The scenario template of a `$close` body (workflow 1.6) made out for a task.
    private func closeBody(id: String) throws -> Element {
        let text = try String(contentsOf: ScenarioReplayTests.directory.appendingPathComponent("bodies/close-1.6.json"), encoding: .utf8)
            .replacingOccurrences(of: "{{id}}", with: id).replacingOccurrences(of: "{{kvnr}}", with: TestServer.kvnr)
            .replacingOccurrences(of: "{{telematikID}}", with: TestServer.pharmacyTelematikID)
        return try FHIRFormat.json.read(Array(text.utf8)).resource
    }

    /// A_19030 (Task), A_19400 (MedicationDispense), A_19401 (Communication), A_22153 (Consent),
    /// unknown resource types:
    /// 405 `not-supported` `no matching handler found.` for every role, in JSON and XML.
    /// A_19401: HEAD on `/Communication` is refused like PUT and PATCH (the router derives HEAD from
    /// every GET; a recipient's HEAD must not mark messages received), for every admitted caller.
    @Test func headOnCommunicationIs405_A_19401() async throws {
        try await live { server, client in
            for profession in [Profession.insurant, .publicPharmacy, .insurer] {
                let token = try await server.token(profession, id: profession == .insurant ? TestServer.kvnr : TestServer.pharmacyTelematikID)
                for path in ["/Communication", "/Communication/0190a000-0000-7000-8000-000000000000"] {
                    let response = try await client.execute(uri: path, method: .head, headers: [.authorization: "Bearer \(token)"])
                    #expect(response.status == .methodNotAllowed, "HEAD \(path) as \(profession)")
                }
            }
        }
    }

    @Test(arguments: ["application/fhir+json", "application/fhir+xml"])
    func everyUnroutedMethodAndPathIs405(accept: String) async throws {
        try await live { server, client in
            let id = PrescriptionID(flowType: .gkvPharmacy, serial: 42).rawValue
            let requests: [(HTTPRequest.Method, String)] = [
                (.get, "/MedicationDispense/\(id)"), (.put, "/Task/\(id)"), (.delete, "/Task/\(id)"), (.patch, "/Task"),
                (.post, "/Task/\(id)/$unknown"), (.post, "/Task"), (.get, "/Task/\(id)/$accept"), (.get, "/Patient"),
                (.post, "/metadata"), (.delete, "/MedicationDispense"), (.put, "/Consent"),
                // POST /Communication is routed now; PUT and PATCH of a message are not (A_19401).
                (.put, "/Communication/0190a000-0000-7000-8000-000000000000"), (.patch, "/Communication/0190a000-0000-7000-8000-000000000000"),
            ]
            for profession in [Profession.insurant, .publicPharmacy, .doctorsPractice] {
                let token = try await server.token(profession, id: profession == .insurant ? TestServer.kvnr : TestServer.pharmacyTelematikID)
                for (method, path) in requests {
                    let response = try await client.execute(uri: path, method: method, headers: [.authorization: "Bearer \(token)", .accept: accept])
                    #expect(response.status == .methodNotAllowed, "\(method) \(path) as \(profession)")
                    #expect(response.headers[.contentType] == accept + ";charset=utf-8")
                    #expect(try text(response) == "no matching handler found.", "\(method) \(path)")
                }
            }
        }
    }

    /// fd-parity §7.1: the token is looked at before the route only for its presence and form;
    /// one that does not verify still gets the 405 of an unknown route, and the 401 of a known one.
    @Test(arguments: ["application/fhir+json", "application/fhir+xml"])
    func theTokenIsVerifiedAfterTheRouteLookup(accept: String) async throws {
        try await live { _, client in
            let forged = "eyJhbGciOiJFUzI1NiJ9.eyJwcm9mZXNzaW9uT0lEIjoiMS4yLjI3Ni4wLjc2LjQuNTQifQ.c2lnbmF0dXJl"
            let unknown = try await client.execute(uri: "/Patient", method: .get, headers: [.authorization: "Bearer \(forged)", .accept: accept])
            #expect(unknown.status == .methodNotAllowed)
            #expect(try text(unknown) == "no matching handler found.")
            let known = try await client.execute(uri: "/MedicationDispense", method: .get, headers: [.authorization: "Bearer \(forged)", .accept: accept])
            #expect(known.status == .unauthorized)
            #expect(known.headers[.wwwAuthenticate] == "Bearer realm='prescriptionserver.telematik', error='invalACCESS_TOKEN'")
            #expect(try text(known) == "JWT has invalid signature")
            let missing = try await client.execute(uri: "/Patient", method: .get, headers: [.accept: accept])
            #expect(missing.status == .unauthorized)
            #expect(missing.headers[.contentType] == accept + ";charset=utf-8")
            #expect(missing.headers[.wwwAuthenticate] == "Bearer realm='prescriptionserver.telematik'")
            #expect(try text(missing) == "Authorization header is missing")
        }
    }

    /// fd-parity §7.1: 401 before 403 before 406, each whatever `Accept` says; the error body of a
    /// failed negotiation is in the caller's default format (XML for a pharmacy, A_19537).
    @Test func tokenThenRoleThenFormat() async throws {
        try await live { server, client in
            let uri = "/Task/\(PrescriptionID(flowType: .gkvPharmacy, serial: 42).rawValue)/$dispense?secret=x"
            let noToken = try await client.execute(uri: uri, method: .post, headers: [.accept: "text/html"])
            #expect(noToken.status == .unauthorized)
            #expect(noToken.headers[.wwwAuthenticate] != nil)
            let doctor = try await server.token(.doctorsPractice, id: TestServer.doctorTelematikID)
            let wrongRole = try await client.execute(uri: uri, method: .post, headers: [.accept: "text/html", .authorization: "Bearer \(doctor)"])
            #expect(wrongRole.status == .forbidden)
            #expect(try text(wrongRole) == "endpoint is forbidden for professionOID 1.2.276.0.76.4.50")
            let pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
            let badFormat = try await client.execute(uri: uri, method: .post, headers: [.accept: "text/html", .authorization: "Bearer \(pharmacy)"])
            #expect(badFormat.status == .notAcceptable)
            #expect(badFormat.headers[.contentType] == "application/fhir+xml;charset=utf-8")
            #expect(try text(badFormat) == "Requested format 'text/html' cannot be provided")
        }
    }

    /// Outside the FD's namespace (ours): no token asked, 404; `/metrics` when metrics are off too.
    @Test(arguments: ["application/fhir+json", "application/fhir+xml"])
    func operationalPathsAnswer404WithoutAToken(accept: String) async throws {
        try await live { _, client in
            for path in ["/health/foo", "/health", "/metrics"] {
                let response = try await client.execute(uri: path, method: .get, headers: [.accept: accept])
                #expect(response.status == .notFound, "\(path)")
                #expect(response.headers[.contentType] == accept + ";charset=utf-8")
                #expect(try text(response) == "No such resource or operation.")
            }
        }
    }

    /// fd-parity §7.6: `GET /` answers 200 at once, without a token, and so does `HEAD /`.
    @Test func theRootProbeIsCheap() async throws {
        try await live { _, client in
            for method in [HTTPRequest.Method.get, .head] {
                let response = try await client.execute(uri: "/", method: method)
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
            }
        }
    }

    /// A_20744: the Device of the receipts, for any authenticated role, a plain resource; 401 without.
    @Test(arguments: ["application/fhir+json", "application/fhir+xml"])
    func deviceForEveryRole(accept: String) async throws {
        try await live { server, client in
            for profession in Profession.allCases {
                let token = try await server.token(profession, id: profession == .insurant ? TestServer.kvnr : TestServer.pharmacyTelematikID)
                let response = try await client.execute(uri: "/Device", method: .get, headers: [.authorization: "Bearer \(token)", .accept: accept])
                #expect(response.status == .ok, "\(profession)")
                #expect(response.headers[.contentType] == accept + ";charset=utf-8")
                let format: FHIRFormat = accept.contains("json") ? .json : .xml
                let device = try format.read(Array(response.body.readableBytesView)).resource
                #expect(device.name == "Device" && device.value(of: "id") == "1")
                #expect(device.child("meta")?.value(of: "profile")?.hasPrefix("https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_Device|") == true)
                #expect(device.child("version")?.value(of: "value") == ErxServer.version)
            }
            let anonymous = try await client.execute(uri: "/Device", method: .get, headers: [.accept: accept])
            #expect(anonymous.status == .unauthorized)
        }
    }

    /// R4 http.html: HEAD wherever GET is, with GET's status and headers and no body; errors too.
    @Test(arguments: ["application/fhir+json", "application/fhir+xml"])
    func headAnswersAsGetWithoutABody(accept: String) async throws {
        try await live { server, client in
            let wrapped = Client(client: client, format: accept.contains("json") ? .json : .xml, server: server)
            let task = try await TaskFactory(client: wrapped).prepare(.dispensed)
            let insurant = try await server.token(.insurant, id: TestServer.kvnr)
            let pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
            let cases: [(String, String?)] = [
                ("/metadata", nil), ("/Device", pharmacy), ("/Task/\(task.id)", insurant), ("/Task", insurant),
                ("/MedicationDispense", insurant), ("/Consent", insurant), ("/Task/\(task.id)?secret=\(task.secret)", pharmacy),
            ]
            for (path, token) in cases {
                var headers: HTTPFields = [.accept: accept]
                if let token { headers[.authorization] = "Bearer \(token)" }
                let get = try await client.execute(uri: path, method: .get, headers: headers)
                let head = try await client.execute(uri: path, method: .head, headers: headers)
                #expect(get.status == .ok && head.status == .ok, "\(path)")
                #expect(head.headers[.contentType] == get.headers[.contentType], "\(path)")
                #expect(head.headers[.contentType] == accept + ";charset=utf-8", "\(path)")
                #expect(head.body.readableBytes == 0, "\(path)")
                #expect(get.body.readableBytes > 0, "\(path)")
                if path == "/metadata" || path == "/Device" {
                    // Answers without random ids: HEAD announces GET's length.
                    #expect(head.headers[.contentLength] == String(get.body.readableBytes), "\(path)")
                }
            }
            let noToken = try await client.execute(uri: "/Task", method: .head, headers: [.accept: accept])
            #expect(noToken.status == .unauthorized && noToken.body.readableBytes == 0)
            #expect(noToken.headers[.wwwAuthenticate] != nil)
            let noHandler = try await client.execute(uri: "/Task/$create", method: .head, headers: [.accept: accept, .authorization: "Bearer \(pharmacy)"])
            #expect(noHandler.status == .methodNotAllowed && noHandler.body.readableBytes == 0)
        }
    }

    /// A_23090-07 (raw-data header, fd-parity §7.5): the workflow profile version of the body read.
    @Test(arguments: [WireFormat.json, .xml])
    func workflowProfileHeaderOnDispenseAndClose(format: WireFormat) async throws {
        try await live { server, client in
            let wrapped = Client(client: client, format: format, server: server)
            let task = try await TaskFactory(client: wrapped).prepare(.inProgress)
            let pharmacy = try await server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
            let dispense = try await wrapped.send(.post, "/Task/\(task.id)/$dispense?secret=\(task.secret)", token: pharmacy,
                                                  body: Bodies.dispense(id: task.id, count: 1))
            #expect(dispense.status == .noContent)
            #expect(dispense.headers[HTTPField.Name("Gematik-Workflow-Profil")!] == "1.6")
            let close = try await wrapped.send(.post, "/Task/\(task.id)/$close?secret=\(task.secret)", token: pharmacy)
            #expect(close.status == .ok)
            #expect(close.headers[HTTPField.Name("Gematik-Workflow-Profil")!] == nil)  // no body read
            let other = try await TaskFactory(client: wrapped).prepare(.inProgress)
            let closeWithBody = try await wrapped.send(.post, "/Task/\(other.id)/$close?secret=\(other.secret)", token: pharmacy,
                                                       body: closeBody(id: other.id))
            #expect(closeWithBody.status == .ok)
            #expect(closeWithBody.headers[HTTPField.Name("Gematik-Workflow-Profil")!] == "1.6")
        }
    }

    /// R4 create: `POST /Consent` answers 201 with `Location: <base>/Consent/<id>`, as the FD does.
    @Test(arguments: [WireFormat.json, .xml])
    func consentCreateHasALocation(format: WireFormat) async throws {
        try await live { server, client in
            let insurant = try await server.token(.insurant, id: TestServer.kvnr)
            let body = ObjectionTests.consent(kvnr: TestServer.kvnr, category: "medication")
            let reply = try await Client(client: client, format: format, server: server).send(.post, "/Consent", token: insurant, body: body)
            #expect(reply.status == .created)
            let id = try reply.resource().value(of: "id") ?? "?"
            #expect(reply.headers[.location] == "http://erx.test/Consent/\(id)")
        }
    }
}
