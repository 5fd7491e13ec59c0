public import Dispensing
public import Hummingbird
import HummingbirdWebSocket
public import Logging
public import NIOCore

/// Assembles the server: the route table, the router with the error seam, and the application.
public enum ErxServer {
    /// erx's own version: the CapabilityStatement's `software.version` and the Device's (receipts,
    /// `GET /Device`).
    public static let version = "0.5.0"

    /// Every route the server answers, in one table.
    public static func routes(_ env: ServerEnvironment) -> [Route] {
        TaskRoutes.routes(env) + MedicationDispenseRoutes.routes(env) + AuditEventRoutes.routes(env) + ConsentRoutes.routes(env)
            + CommunicationRoutes.routes(env) + SubscriptionRoutes.routes(env) + WebhookSubscriptionRoutes.routes(env) + SystemRoutes.routes(env)
    }

    /// The router of the listener. With the VAU (issue 25) it also answers the tunnel's routes,
    /// whose inner requests run through a router of the same routes and middleware; with
    /// `--transport vau` the FD routes are reachable only that way.
    public static func router(_ env: ServerEnvironment, verifier: AccessTokenVerifier) -> Router<ErxRequestContext> {
        let fdRoutes = routes(env)
        guard let vau = env.vau, vau.transport != .plain else { return router(fdRoutes, env, verifier: verifier) }
        let inner = TunnelledRequest(router(fdRoutes, env, verifier: verifier).buildResponder())
        let plain = vau.transport == .both ? fdRoutes : fdRoutes.filter { SystemRoutes.isOperational(path: $0.path) }
        return router(plain + VAURoutes.routes(vau, inner: inner, limits: env.limits), env, verifier: verifier,
                      answersFDNamespace: vau.transport == .both)
    }

    static func router(_ routes: [Route], _ env: ServerEnvironment, verifier: AccessTokenVerifier,
                       answersFDNamespace: Bool = true) -> Router<ErxRequestContext> {
        // R4 http.html: HEAD wherever GET is, with GET's headers and no body.
        let router = Router(context: ErxRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: ErrorSeamMiddleware(limits: env.limits, answersFDNamespace: answersFDNamespace))
        for route in routes {
            router.on(RouterPath(route.path), method: route.method) { request, context in
                await Routes.run(route, verifier: verifier, metrics: env.metrics, request: request, context: context)
            }
        }
        return router
    }

    /// The environment as the application runs it: the websocket hub is the notifier (A_22367-03),
    /// unless the caller set one of its own.
    public static func wired(_ env: ServerEnvironment) -> ServerEnvironment {
        var env = env
        if env.notifier is NoRecipientNotifications { env.notifier = env.subscriptions.hub }
        return env
    }

    /// The HTTP application with the websocket endpoint of the subscriptions on the same listener
    /// (``GuardedWebSocketChannel``).
    public static func application(
        _ env: ServerEnvironment, verifier: AccessTokenVerifier, host: String, port: Int, logger: Logger,
        connections: ConnectionLimits = ConnectionLimits(),
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let env = wired(env)
        let subscriptions = env.subscriptions
        return Application(
            router: router(env, verifier: verifier),
            server: .guardedHTTP1WebSocket(connections, webSocket: .init(maxFrameSize: 1 << 12)) { head in
                await SubscriptionSocket.upgrade(head, settings: subscriptions)
            },
            configuration: .init(address: .hostname(host, port: port), serverName: "erx"),
            onServerRunning: onServerRunning,
            logger: logger
        )
    }
}
