public import Hummingbird
public import Logging
public import NIOCore

/// A stand-in for the national registry (ePA Information Service and medication service) on
/// loopback, with faults a test can switch on, so the outbox relay can be tested over real HTTP.
public enum RegistrySimulator {
    /// Request bodies above this are refused.
    public static let maximumBodySize = 4 << 20

    /// The application on host:port (port 0 = any free port); `onServerRunning` gets the channel (its localAddress has the port).
    /// With `validation`, every operation's body must conform to its ePA input profile (else 400).
    public static func application(
        state: SimulatorState = SimulatorState(), validation: PayloadValidation? = nil, hooks: WebhookReceiverState = WebhookReceiverState(),
        bfarm: BfArMReceiverState = BfArMReceiverState(), host: String, port: Int, logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(state: state, validation: validation, hooks: hooks, bfarm: bfarm),
            configuration: .init(address: .hostname(host, port: port), serverName: "registry-sim"),
            onServerRunning: onServerRunning,
            logger: logger
        )
    }

    /// The router alone, for in-process tests.
    /// `hooks` is the webhook receiver's (`POST /hook/{name}`, see ``WebhookReceiverState``), `bfarm`
    /// the BfArM stand-in's (`POST /ords/rezepte/t-rezept/v1`, see ``BfArMReceiverState``).
    public static func router(state: SimulatorState, validation: PayloadValidation? = nil,
                              hooks: WebhookReceiverState = WebhookReceiverState(),
                              bfarm: BfArMReceiverState = BfArMReceiverState()) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: AnswerMiddleware())
        router.add(middleware: FaultMiddleware(state: state))
        ControlRoutes(state: state).register(on: router)
        RegistryRoutes(state: state, validation: validation).register(on: router)
        WebhookReceiverRoutes(state: hooks).register(on: router)
        BfArMReceiverRoutes(state: bfarm).register(on: router)
        return router
    }

    /// The whole body, bounded by ``maximumBodySize``.
    static func collectBody(of request: Request) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: maximumBodySize)
        } catch is NIOTooManyBytesError {
            throw SimulatorError.tooLarge
        }
    }
}
