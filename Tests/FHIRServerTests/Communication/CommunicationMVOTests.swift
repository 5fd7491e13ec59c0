import Dispensing
import FHIRFormats
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// §1.5 step 6, A_26327: a DispReq for a part of a multiple prescription before its period starts.
@Suite struct CommunicationMVOTests {
    typealias S = CommunicationTestSupport

    @Test func dispReqBeforeTheMVOPeriodIs400_A_26327() async throws {
        guard var server = try await KBVActivateTests.server() else { return }
        server.env.communicationValidation = CommunicationValidation(validator: await S.loadedValidator())
        let prepared = server
        defer { Task { await prepared.remove() } }
        let app = Application(router: prepared.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let client = Client(client: client, format: .json, server: prepared)
            let factory = try await TaskFactory(client: client)
            let later = try KBVExamples.bundle(KBVActivateTests.mvo,
                                               edits: [(#"<start value="2024-04-01" />"#, #"<start value="2099-04-01" /><end value="2099-06-30" />"#)])
            let task = try await factory.prepare(.draft)
            let body = try KBVExamples.parameters(KBVExamples.withID(later, task.id), format: .json)
            #expect(try await client.send(.post, "/Task/\(task.id)/$activate?ac=\(task.accessCode)", token: factory.doctor, body: body).status == .ok)
            let insurant = try await prepared.token(.insurant, id: S.insurant)
            let reply = try await client.send(.post, "/Communication", token: insurant, body: S.dispReq(task: task.id, accessCode: task.accessCode))
            #expect(reply.status == .badRequest)
            #expect(try S.issue(reply).text == "Prescription is not fillable yet.")
        }
    }
}
