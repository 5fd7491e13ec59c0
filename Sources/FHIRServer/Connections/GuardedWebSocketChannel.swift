public import HTTPTypes
import Hummingbird
public import HummingbirdCore
public import HummingbirdWebSocket
public import Logging
public import NIOCore
import NIOHTTPTypes
import Synchronization

/// What the server does with a websocket upgrade request: refuse it with an HTTP status, or
/// accept it and run `handler` on the websocket.
public enum WebSocketUpgrade: Sendable {
    case refuse(HTTPResponse.Status, HTTPFields)
    case accept(WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>)
}

/// ``GuardedHTTP1Channel`` that can also upgrade a connection to a websocket, on the same listener
/// (hummingbird-websocket's `HTTP1WebSocketUpgradeChannel` inside the same guard).
///
/// What stays as in ``GuardedHTTP1Channel``: the connection cap (websockets count against
/// `--max-connections` like any connection), the header-size limit (the upgrade decoder takes the
/// same configuration), the header/body/idle deadlines of HTTP connections, `Connection: close`.
/// What changes: an upgraded connection leaves the HTTP phases (``ConnectionPhase/Phase/upgraded``)
/// and has no deadline of the guard's; its life is bounded by its token's expiry, the websocket's
/// own keep-alive pings and the hub's limits. Hummingbird answers every refused upgrade 400; the
/// ``UpgradeRefusalHandler`` turns that into the status the decision gave (401, 404, 429, 503).
/// An upgrade is only taken on a connection's first request (as NIO's upgrade handler does); a
/// later one is answered 307 to the same path with `Connection: close` by Hummingbird.
public struct GuardedWebSocketChannel: ServerChildChannel {
    public typealias Value = HTTP1WebSocketUpgradeChannel.Value
    public typealias Decide = @Sendable (HTTPRequest) async -> WebSocketUpgrade

    let responder: HTTPChannelHandler.Responder
    let limits: ConnectionLimits
    let webSocket: WebSocketServerConfiguration
    let decide: Decide
    let open = OpenConnections()

    public init(responder: @escaping HTTPChannelHandler.Responder, limits: ConnectionLimits, webSocket: WebSocketServerConfiguration,
                decide: @escaping Decide) {
        self.responder = responder
        self.limits = limits
        self.webSocket = webSocket
        self.decide = decide
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let phase = ConnectionPhase()
        let refusal = UpgradeRefusal()
        var http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestPhaseHandler(phase: phase), UpgradeRefusalHandler(refusal: refusal)],
            httpDecoderConfiguration: .init(maxHeaderFieldSize: limits.maximumHeaderBytes, maxHeaderListSize: limits.maximumHeaderBytes,
                                            maxHeaderFieldCount: 100)
        )
        http1.idleTimeout = nil  // the guard's idle deadline replaces Hummingbird's
        let decide = self.decide
        let inner = HTTP1WebSocketUpgradeChannel(responder: responder, configuration: .init(http1: http1, ws: webSocket)) { head, channel, _ in
            switch await decide(head) {
            case .refuse(let status, let headers):
                refusal.set(status, headers)
                return .dontUpgrade
            case .accept(let handler):
                // From the 101 on, the HTTP phases and their deadlines no longer apply.
                channel.eventLoop.execute { phase.phase = .upgraded }
                return .upgrade([:], handler)
            }
        }
        do {
            try channel.pipeline.syncOperations.addHandler(ConnectionGuard(limits: limits, open: open, phase: phase))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger)
    }

    public func handle(value: Value, logger: Logger) async {
        // `handle` reads only the responder; the decision was taken in `setup`'s channel.
        await HTTP1WebSocketUpgradeChannel(responder: responder, configuration: .init(ws: webSocket)) { _, _, _ in .dontUpgrade }
            .handle(value: value, logger: logger)
    }
}

/// The status one connection's refused upgrade is to be answered with.
final class UpgradeRefusal: Sendable {
    private let answer = Mutex<(status: HTTPResponse.Status, headers: HTTPFields)?>(nil)

    func set(_ status: HTTPResponse.Status, _ headers: HTTPFields) { answer.withLock { $0 = (status, headers) } }
    var value: (status: HTTPResponse.Status, headers: HTTPFields)? { answer.withLock { $0 } }
}

/// Rewrites Hummingbird's fixed 400 for a refused upgrade to the decision's status and headers;
/// every other response passes unchanged.
final class UpgradeRefusalHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let refusal: UpgradeRefusal

    init(refusal: UpgradeRefusal) {
        self.refusal = refusal
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(var head) = unwrapOutboundIn(data), head.status == .badRequest, let answer = refusal.value else {
            context.write(data, promise: promise)
            return
        }
        head.status = answer.status
        for field in answer.headers { head.headerFields[field.name] = field.value }
        context.write(wrapOutboundOut(.head(head)), promise: promise)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with ``ConnectionLimits`` and websocket upgrades decided by `decide`.
    public static func guardedHTTP1WebSocket(
        _ limits: ConnectionLimits, webSocket: WebSocketServerConfiguration = .init(), decide: @escaping GuardedWebSocketChannel.Decide
    ) -> HTTPServerBuilder {
        .init { responder in GuardedWebSocketChannel(responder: responder, limits: limits, webSocket: webSocket, decide: decide) }
    }
}
