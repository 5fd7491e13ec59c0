import NIOCore
import HTTPTypes
import NIOHTTPTypes
import Synchronization

/// The number of open connections, shared by all of them.
final class OpenConnections: Sendable {
    private let count = Atomic<Int>(0)

    /// Counts a connection in; `false` (and not counted) when `limit` are open already.
    func admit(limit: Int) -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release() { count.subtract(1, ordering: .relaxed) }
}

/// Where a connection is in its request cycle, as its two handlers see it: bytes arriving (before
/// the HTTP decoder) and request parts and response ends (after it). One instance per connection,
/// used on its event loop only (hence `@unchecked`: it is handed to the pipeline's set-up closure,
/// which runs on that loop too).
final class ConnectionPhase: @unchecked Sendable {
    /// `upgraded`: the connection became a websocket; no HTTP deadline applies any more.
    enum Phase { case idle, header, body, handling, upgraded }

    var phase = Phase.idle
    /// When the current phase's clock started: the end of the last response, a request's first
    /// byte, or the last body byte.
    var since = NIODeadline.now()
}

/// Before the HTTP decoder: counts the connection against the cap (503 and close beyond it) and
/// closes it when a phase overruns its limit. The deadline is checked by one scheduled task that
/// re-arms itself, so a read costs a timestamp, not a timer.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let limits: ConnectionLimits
    private let open: OpenConnections
    let phase: ConnectionPhase
    private var counted = false
    private var check: Scheduled<Void>?

    init(limits: ConnectionLimits, open: OpenConnections, phase: ConnectionPhase) {
        self.limits = limits
        self.open = open
        self.phase = phase
    }

    static let refusal = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n"
    static let headerTimeout = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"

    func channelActive(context: ChannelHandlerContext) {
        guard open.admit(limit: limits.maximumConnections) else {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: Self.refusal))).whenComplete { _ in context.close(promise: nil) }
            return
        }
        counted = true
        phase.since = .now()
        schedule(context, at: phase.since + TimeAmount(limits.idleTimeout))
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if counted { open.release() }
        counted = false
        check?.cancel()
        check = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard counted else { return }
        switch phase.phase {
        case .idle:
            phase.phase = .header
            phase.since = .now()
        case .body:
            phase.since = .now()
        case .header, .handling, .upgraded:
            break
        }
        context.fireChannelRead(data)
    }

    /// The moment the current phase overruns, or `nil` while the server itself is at work.
    private func deadline() -> NIODeadline? {
        switch phase.phase {
        case .idle: phase.since + TimeAmount(limits.idleTimeout)
        case .header: phase.since + TimeAmount(limits.headerTimeout)
        case .body: phase.since + TimeAmount(limits.bodyReadTimeout)
        case .handling, .upgraded: nil
        }
    }

    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.fire(context)
        }
    }

    private func fire(_ context: ChannelHandlerContext) {
        check = nil
        guard context.channel.isActive else { return }
        // While handling, look again later: the phase changes when the response ends (never for a websocket).
        guard let deadline = deadline() else {
            schedule(context, at: .now() + TimeAmount(limits.bodyReadTimeout))
            return
        }
        guard deadline <= .now() else {
            schedule(context, at: deadline)
            return
        }
        if phase.phase == .header {
            // Nothing of this request has been answered: say why before closing.
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: Self.headerTimeout))).whenComplete { _ in context.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }
}

/// After the HTTP decoder: moves the phase on the request's head and end and the response's end,
/// and closes the connection after a response that says `Connection: close` (the early 413: the
/// rest of that body is never read).
final class RequestPhaseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let phase: ConnectionPhase
    private var closeAfterResponse = false

    init(phase: ConnectionPhase) {
        self.phase = phase
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            phase.phase = .body
            phase.since = .now()
        case .body:
            break
        case .end:
            phase.phase = .handling
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if head.headerFields[.connection]?.lowercased() == "close" { closeAfterResponse = true }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            // A response may end before its request's body did (an early refusal): the body phase
            // keeps its clock then, else the connection is idle again.
            if phase.phase == .handling {
                phase.phase = .idle
                phase.since = .now()
            }
            guard closeAfterResponse else {
                context.write(data, promise: promise)
                return
            }
            closeAfterResponse = false
            let done = context.eventLoop.makePromise(of: Void.self)
            done.futureResult.whenComplete { _ in context.close(promise: nil) }
            done.futureResult.cascade(to: promise)
            context.writeAndFlush(data, promise: done)
        }
    }
}
