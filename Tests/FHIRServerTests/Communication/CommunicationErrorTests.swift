import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Testing

/// Each row of §1.5 (fd-messaging-transport), with the FD's status and text, in both formats.
@Suite struct CommunicationErrorTests {
    typealias S = CommunicationTestSupport
    static let formats: [WireFormat] = [.json, .xml]

    private func expect(_ reply: Reply, _ status: HTTPResponse.Status, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(reply.status == status, "\(String(decoding: reply.bytes.prefix(500), as: UTF8.self))", sourceLocation: sourceLocation)
        #expect(try S.issue(reply).text == text, sourceLocation: sourceLocation)
    }

    private func post(_ c: S.Context, _ token: String, _ body: Element, headers: HTTPFields = [:]) async throws -> Reply {
        try await c.client.send(.post, "/Communication", token: token, body: body, headers: headers)
    }

    /// Step 1: no profile, a retired one (InfoReq), a body the profile refuses, an unusable basedOn.
    @Test(arguments: formats)
    func profileChecks_step1(format: WireFormat) async throws {
        try await S.withServer(format) { c in
            let task = try await c.factory.prepare(.ready)
            var body = try S.dispReq(task: task.id, accessCode: task.accessCode)
            body.children.removeAll { $0.name == "meta" }
            try expect(try await post(c, c.insurantToken, body), .badRequest, "Profile missing in Communication message.")
            var infoReq = try S.dispReq(task: task.id, accessCode: task.accessCode)
            infoReq.children.removeAll { $0.name == "meta" }
            infoReq.children.append(Element(name: "meta", children: [Element(name: "profile", value: "\(S.workflow)InfoReq|1.5")]))
            let refused = try await post(c, c.insurantToken, infoReq)
            #expect(refused.status == .badRequest)
            #expect(try S.issue(refused).text?.hasPrefix("invalid profile \(S.workflow)InfoReq|1.5 must be one of: ") == true)
            var invalid = try S.dispReq(task: task.id, accessCode: task.accessCode)
            invalid.children.removeAll { $0.name == "recipient" }  // 1..1 in the profile
            try expect(try await post(c, c.insurantToken, invalid), .badRequest, "Invalid request body")
            let unparsable = try await post(c, c.insurantToken, S.dispReq(task: "160.000.000.000.000.00", accessCode: task.accessCode))
            try expect(unparsable, .badRequest, "Invalid request body")
            #expect(try S.issue(unparsable).diagnostics == "Failed to parse prescription ID from reference")
        }
    }

    /// Steps 2–5, 7: sender claims and profession, the ChargeItem (A_22734: erx has none), the Task (A_21371-03).
    @Test(arguments: formats)
    func senderTaskAndChargeItem_A_21371_A_22734(format: WireFormat) async throws {
        try await S.withServer(format) { c in
            let task = try await c.factory.prepare(.ready)
            let noID = try await c.client.server.token(.insurant, id: nil)
            try expect(try await post(c, noID, S.dispReq(task: task.id, accessCode: task.accessCode)), .badRequest,
                       "JWT does not contain a claim for the sender")
            try expect(try await post(c, c.insurantToken, S.reply(task: task.id)), .badRequest,
                       "Invalid sender profession oid in communication reply message")
            try expect(try await post(c, c.pharmacyToken, S.dispReq(task: task.id, accessCode: task.accessCode)), .badRequest,
                       "Invalid sender profession oid in communication message")
            try expect(try await post(c, c.insurantToken, S.chargChangeReq(task: task.id)), .badRequest, "referenced charge item does not exist")
            let unknown = PrescriptionID(flowType: .gkvPharmacy, serial: 999_999_999_999).rawValue
            try expect(try await post(c, c.pharmacyToken, S.reply(task: unknown)), .badRequest, "Task for prescription id \(unknown) is missing")
            let draft = try await c.factory.prepare(.draft)
            try expect(try await post(c, c.pharmacyToken, S.reply(task: draft.id)), .badRequest, "Referenced task does not contain a KVNR")
            let doctor = try await post(c, c.factory.doctor, S.reply(task: task.id))
            #expect(doctor.status == .forbidden)  // A_19446-02
        }
    }

    /// Step 6: a DispReq needs a ready (A_26320), unexpired (A_26321) task.
    @Test(arguments: formats)
    func dispReqOnACompletedOrExpiredTaskIs400_A_26320_A_26321(format: WireFormat) async throws {
        try await S.withServer(format) { c in
            let completed = try await c.factory.prepare(.completed)
            try expect(try await post(c, c.insurantToken, S.dispReq(task: completed.id, accessCode: completed.accessCode)), .badRequest,
                       "Task has invalid status.")
            let expired = try await c.factory.prepare(.ready) { id, kvnr in Bodies.prescription(id: id, kvnr: kvnr, authoredOn: "2026-08-01") }
            try expect(try await post(c, c.insurantToken, S.dispReq(task: expired.id, accessCode: expired.accessCode)), .badRequest,
                       "Task is expired.")
        }
    }

    /// Step 8: the recipient's kind, and A_27767-01's 403 for a DispReq to a sector that may not receive it.
    @Test(arguments: formats)
    func recipientChecks_A_27767(format: WireFormat) async throws {
        try await S.withServer(format) { c in
            let task = try await c.factory.prepare(.ready)
            try expect(try await post(c, c.insurantToken, S.dispReq(task: task.id, accessCode: task.accessCode, recipient: S.otherInsurant)),
                       .badRequest, "Expected TelematikId, got KVNR")
            try expect(try await post(c, c.pharmacyToken, S.reply(task: task.id, recipient: S.pharmacy)), .badRequest, "Expected KVNR, got TelematikId")
            try expect(try await post(c, c.insurantToken, S.dispReq(task: task.id, accessCode: task.accessCode, recipient: TestServer.doctorTelematikID)),
                       .forbidden, "Der Empfänger darf den \(FlowType.gkvPharmacy.display) nicht empfangen")
        }
    }

    /// Steps 10–13: A_20885-04 (AccessCodes), A_20230-01 (status), A_20231 (self), A_20753 (test identities).
    @Test(arguments: formats)
    func rightToSend_A_20885_A_20230_A_20231_A_20753(format: WireFormat) async throws {
        try await S.withServer(format) { c in
            let task = try await c.factory.prepare(.ready)
            try expect(try await post(c, c.insurantToken, S.dispReq(task: task.id, accessCode: nil)), .badRequest,
                       "Dispense request must contain an access code in payload")
            try expect(try await post(c, c.insurantToken, S.representative(task: task.id, accessCode: nil)), .badRequest,
                       "Representative message sent by insurant must contain an access code in payload")
            let fromOther = try S.representative(task: task.id, accessCode: task.accessCode, recipient: S.insurant)
            try expect(try await post(c, c.otherInsurantToken, fromOther), .badRequest, "Header must contain an access code")
            let wrong = String(repeating: "0", count: 64)
            try expect(try await post(c, c.otherInsurantToken, fromOther, headers: [HTTPField.Name("X-AccessCode")!: wrong]), .badRequest,
                       "Access code of header not equal to access code of referenced task")
            #expect(try await post(c, c.otherInsurantToken, fromOther, headers: [HTTPField.Name("X-AccessCode")!: task.accessCode]).status == .created)
            let completed = try await c.factory.prepare(.completed)
            try expect(try await post(c, c.insurantToken, S.representative(task: completed.id, accessCode: completed.accessCode)), .badRequest,
                       "Messages between KVNR's are restricted to prescriptions that are ready or in-progress")
            try expect(try await post(c, c.insurantToken, S.representative(task: task.id, accessCode: task.accessCode, recipient: S.insurant)),
                       .badRequest, "messages to self are not permitted")
            try expect(try await post(c, c.insurantToken, S.representative(task: task.id, accessCode: task.accessCode, recipient: "X000001234")),
                       .badRequest, "KVNR verification identities may not access information from insurants and vice versa")
        }
    }

    /// Step 14 (A_19450-01, A_23878-02, A_23879-01): version, size and schema of the payload.
    @Test(arguments: formats)
    func payloadChecks_A_19450_A_23878(format: WireFormat) async throws {
        try await S.withServer(format) { c in
            let task = try await c.factory.prepare(.ready)
            func dispReq(_ payload: String) throws -> Element { try S.dispReq(task: task.id, accessCode: task.accessCode, payload: payload) }
            try expect(try await post(c, c.insurantToken, dispReq(#"{"version":2,"supplyOptionsType":"onPremise"}"#)), .badRequest,
                       "Invalid payload version: 2")
            try expect(try await post(c, c.insurantToken, dispReq(#"{"version":"1","supplyOptionsType":"onPremise"}"#)), .badRequest,
                       "version must be 'integer'")
            let schema = try await post(c, c.insurantToken, dispReq(#"{"version":1,"supplyOptionsType":"drone"}"#))
            #expect(schema.status == .badRequest)
            #expect(try S.issue(schema).text?.contains("does not conform to expected JSON schema") == true)
            let large = try await post(c, c.pharmacyToken, S.reply(task: task.id, payload: String(repeating: "x", count: 10241)))
            try expect(large, .badRequest, "Payload must not exceed 10 KB.")
            let representativeLarge = try await post(c, c.insurantToken, S.representative(task: task.id, accessCode: task.accessCode,
                                                                                           text: String(repeating: "x", count: 10241)))
            try expect(representativeLarge, .badRequest, "Payload must not exceed 10 KB.")
            let v3 = #"{"version":3,"communicationType":"order","transactionID":"t-1","supplyOptionsType":"onPremise","phone":"+4930123"}"#
            #expect(try await post(c, c.insurantToken, dispReq(v3)).status == .created)
        }
    }

    /// §1.7, §1.1: the id's format, an unknown id, PUT → 405 (A_19401).
    @Test(arguments: formats)
    func readErrorsAndRefusedMethods_A_19401(format: WireFormat) async throws {
        try await S.withServer(format) { c in
            try expect(try await c.client.send(.get, "/Communication/not-a-uuid", token: c.insurantToken), .badRequest,
                       "Invalid format of communication id")
            try expect(try await c.client.send(.get, "/Communication/0190a000-0000-7000-8000-000000000000", token: c.insurantToken), .notFound,
                       "no Communication found for id")
            try expect(try await c.client.send(.delete, "/Communication/nope", token: c.insurantToken), .badRequest,
                       "Invalid format of communication id")
            let put = try await c.client.send(.put, "/Communication/0190a000-0000-7000-8000-000000000000", token: c.insurantToken)
            #expect(put.status == .methodNotAllowed)
            let patch = try await c.client.send(.patch, "/Communication/0190a000-0000-7000-8000-000000000000", token: c.insurantToken)
            #expect(patch.status == .methodNotAllowed)
        }
    }
}
