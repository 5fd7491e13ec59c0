public import HummingbirdCore
public import Logging
public import NIOCore

/// Hummingbird's HTTP/1.1 channel with ``ConnectionLimits`` applied: the connection cap and the
/// phase deadlines (``ConnectionGuard``, before the decoder), the header-size limit (the decoder's),
/// and `Connection: close` answers honoured (``RequestPhaseHandler``).
public struct GuardedHTTP1Channel: ServerChildChannel {
    public typealias Value = HTTP1Channel.Value

    let responder: HTTPChannelHandler.Responder
    let limits: ConnectionLimits
    let open = OpenConnections()

    public init(responder: @escaping HTTPChannelHandler.Responder, limits: ConnectionLimits) {
        self.responder = responder
        self.limits = limits
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let phase = ConnectionPhase()
        var configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestPhaseHandler(phase: phase)],
            httpDecoderConfiguration: .init(maxHeaderFieldSize: limits.maximumHeaderBytes, maxHeaderListSize: limits.maximumHeaderBytes,
                                            maxHeaderFieldCount: 100)
        )
        configuration.idleTimeout = nil  // the guard's idle deadline replaces Hummingbird's
        let inner = HTTP1Channel(responder: responder, configuration: configuration)
        do {
            try channel.pipeline.syncOperations.addHandler(ConnectionGuard(limits: limits, open: open, phase: phase))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger)
    }

    public func handle(value: Value, logger: Logger) async {
        await HTTP1Channel(responder: responder).handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with ``ConnectionLimits``.
    public static func guardedHTTP1(_ limits: ConnectionLimits) -> HTTPServerBuilder {
        .init { responder in GuardedHTTP1Channel(responder: responder, limits: limits) }
    }
}
