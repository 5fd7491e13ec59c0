import Dispensing
@testable import FHIRServer
import Testing

/// The hub without sockets: limits, binding, and that `messageArrived` never waits for a reader.
struct NotificationHubTests {
    static let pharmacy = TelematikID(TestServer.pharmacyTelematikID)!

    @Test func aConnectionThatNeverReadsDoesNotHoldUpTheNotifier() async {
        let hub = SubscriptionSettings.ephemeral().hub
        let id = hub.pseudonyms.pseudonym(of: Self.pharmacy)
        guard case .success(let ticket) = hub.open(id) else { Issue.record("not admitted"); return }
        let (events, continuation) = AsyncStream<NotificationHub.Event>.makeStream(bufferingPolicy: .bufferingNewest(32))
        hub.bind(ticket, to: continuation)
        // 10,000 notifications to a connection nobody reads: each returns at once, the buffer keeps the newest 32.
        for _ in 0..<10_000 { await hub.messageArrived(for: Self.pharmacy) }
        hub.close(ticket)
        var received = 0
        for await _ in events { received += 1 }
        #expect(received == 32)
        #expect(hub.counts.open == 0 && hub.counts.bound == 0)
    }

    @Test func unboundConnectionsAreNotPingedAndLimitsCountOpenOnes() {
        let hub = SubscriptionSettings(tokens: .ephemeral(), pseudonyms: .ephemeral(),
                                       limits: WebSocketLimits(maximumPerSubscription: 2, maximumConnections: 3)).hub
        let id = hub.pseudonyms.pseudonym(of: Self.pharmacy)
        let other = hub.pseudonyms.pseudonym(of: TelematikID(TestServer.otherPharmacyTelematikID)!)
        guard case .success(let first) = hub.open(id), case .success = hub.open(id) else { Issue.record("not admitted"); return }
        #expect(hub.notify(subscriptionID: id) == 0)
        #expect(hub.admits(id) == .subscriptionFull)
        guard case .success = hub.open(other) else { Issue.record("not admitted"); return }
        #expect(hub.admits(other) == .serverFull)
        hub.close(first)
        #expect(hub.admits(id) == nil)
    }
}
