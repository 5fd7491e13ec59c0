import Dispensing
import FHIRFormats
import FHIRServer
import Foundation
import HTTPTypes
import Synchronization
import Testing

/// A_22367-03: after a DispReq is stored, the recipient's subscribers are told; nothing else is
/// announced, and a refused message announces nothing.
@Suite struct CommunicationNotificationTests {
    typealias S = CommunicationTestSupport

    final class Recorder: RecipientNotifier {
        let told = Mutex<[String]>([])
        func messageArrived(for recipient: TelematikID) async { told.withLock { $0.append(recipient.rawValue) } }
    }

    @Test func aStoredDispReqNotifiesItsRecipient_A_22367() async throws {
        let recorder = Recorder()
        try await S.withServer(.json, configure: { $0.notifier = recorder }) { c in
            let task = try await c.factory.prepare(.ready)
            #expect(try await c.client.send(.post, "/Communication", token: c.insurantToken,
                                            body: S.dispReq(task: task.id, accessCode: task.accessCode)).status == .created)
            #expect(try await c.client.send(.post, "/Communication", token: c.pharmacyToken, body: S.reply(task: task.id)).status == .created)
            #expect(try await c.client.send(.post, "/Communication", token: c.insurantToken,
                                            body: S.dispReq(task: task.id, accessCode: nil)).status == .badRequest)
        }
        #expect(recorder.told.withLock { $0 } == [S.pharmacy])
    }
}
