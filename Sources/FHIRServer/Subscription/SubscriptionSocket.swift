import Foundation
public import HTTPTypes
import HummingbirdWebSocket
import Logging
import NIOWebSocket

/// The websocket endpoint of the subscriptions (§2.3; `erp_notification_avs.adoc`): `GET /subscription`
/// with `Authorization: Bearer <token of POST /Subscription>` upgrades; the client sends the text
/// frame `bind: <Subscription.id>`, the server answers `bound: <id>` and from then on sends
/// `ping: <id>` for every DispReq or ChargChangeReq stored for that Telematik-ID (A_22367-03).
/// When the token expires the server closes with 1000.
///
/// Not confirmed for the FD (§6), our choices: a `bind` of another id than the token's, or any other
/// text, closes with 1008 (policy violation); a binary frame with 1003 (unsupported data); a refused
/// upgrade is 401 (no or bad token), 404 (another path), 429 (that subscription has its maximum of
/// websockets open) or 503 (the server has its maximum).
public enum SubscriptionSocket {
    /// The decision on an upgrade request, taken before the 101.
    public static func upgrade(_ head: HTTPRequest, settings: SubscriptionSettings) async -> WebSocketUpgrade {
        let path = head.path.map { String($0.prefix { $0 != "?" }) } ?? ""
        guard path == settings.path else { return .refuse(.notFound, [:]) }
        guard let token = try? AccessTokenVerifier.bearerToken(head.headerFields[.authorization]),
              let verified = await settings.tokens.verify(token)
        else { return .refuse(.unauthorized, [.wwwAuthenticate: "Bearer error=\"invalid_token\""]) }
        let (subscriptionID, expires) = verified
        switch settings.hub.admits(subscriptionID) {
        case .subscriptionFull: return .refuse(.tooManyRequests, [:])
        case .serverFull: return .refuse(.serviceUnavailable, [.retryAfter: "5"])
        case nil:
            let hub = settings.hub
            return .accept { inbound, outbound, _ in
                await session(inbound, outbound, subscriptionID: subscriptionID, expires: expires, hub: hub)
            }
        }
    }

    /// One websocket, from the 101 to its close.
    static func session(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, subscriptionID: String, expires: Date,
                        hub: NotificationHub) async {
        // Counted only now that it is open: an upgrade that failed after the decision holds nothing.
        // Another connection may have taken the last place meanwhile: 1013, "try again later".
        guard case .success(let ticket) = hub.open(subscriptionID) else {
            try? await outbound.close(.unknown(1013), reason: "Try again later")
            return
        }
        defer { hub.close(ticket) }
        // A slow reader loses its oldest pings, never holds up `messageArrived`.
        let (events, continuation) = AsyncStream<NotificationHub.Event>.makeStream(bufferingPolicy: .bufferingNewest(32))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in events {
                    let text = switch event {
                    case .bound: "bound: \(subscriptionID)"
                    case .ping: "ping: \(subscriptionID)"
                    }
                    do { try await outbound.write(.text(text)) } catch { return }
                }
            }
            group.addTask {
                // The close handshake ends the inbound stream, and with it the reading below.
                guard (try? await Task.sleep(for: .seconds(max(0, expires.timeIntervalSinceNow)))) != nil else { return }
                try? await outbound.close(.normalClosure, reason: "Subscription expired")
            }
            await read(inbound, outbound, subscriptionID: subscriptionID, ticket: ticket, hub: hub, events: continuation)
            continuation.finish()
            group.cancelAll()
        }
    }

    /// The client's frames until it closes (or is closed).
    private static func read(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, subscriptionID: String,
                             ticket: NotificationHub.Ticket, hub: NotificationHub,
                             events: AsyncStream<NotificationHub.Event>.Continuation) async {
        var bound = false
        do {
            for try await message in inbound.messages(maxSize: 1024) {
                guard case .text(let text) = message else {
                    try await outbound.close(.unacceptableData, reason: "Text frames only")
                    return
                }
                guard bindTarget(text) == subscriptionID else {
                    try await outbound.close(.policyViolation, reason: "Expected bind: <subscription id of the token>")
                    return
                }
                if bound {
                    events.yield(.bound)
                } else {
                    hub.bind(ticket, to: events)
                    bound = true
                }
            }
        } catch {
            // The peer went away or sent what the websocket layer refuses; it closes the socket.
        }
    }

    /// The id of a `bind: <id>` frame; `nil` for any other text.
    static func bindTarget(_ text: String) -> String? {
        guard text.hasPrefix("bind:") else { return nil }
        return String(text.dropFirst(5).drop { $0 == " " })
    }
}
