import Dispensing
import FHIRModel
import FHIRValidation
import Hummingbird

/// `POST /Subscription` (fd-messaging-transport §2.1): public and hospital pharmacies and insurers
/// (A_22362-01; any other profession 403 by the route table) register for notifications of new
/// messages. The body is read and validated against R4 core's `Subscription` here; what follows
/// depends on `channel.type`: `websocket` is the FD's (``WebsocketSubscriptionCreate``); `rest-hook`
/// is ours, a pharmacy's webhook for its dispensing events (``WebhookSubscriptionCreate``); any other
/// type is refused.
enum SubscriptionRoutes {
    /// A_22362-01: who may subscribe. IBM registers KTR too; the IG's draft ZETA policy lists KTR
    /// only under `diga/Subscription` (§6).
    static let professions: Set<Profession> = [.publicPharmacy, .hospitalPharmacy, .insurer]

    static func routes(_ env: ServerEnvironment) -> [Route] {
        [
            Route(.post, "/Subscription", professions: professions, resource: "Subscription", interaction: .create) { request, context in
                let caller = try Routes.caller(context)
                let validator = env.dispensationParameters.validator
                let body = try await RequestBodyReader.decode(request, limits: env.limits) { body in
                    try SubscriptionCreate.readable(body, validator: validator)
                }
                switch body.descendant("channel", "type")?.value {
                case "websocket":
                    let subscription = try await WebsocketSubscriptionCreate.answer(body, caller: caller, settings: env.subscriptions,
                                                                                   now: env.service.clock.now())
                    // A_22364: 200 (IBM, the API example and status table; one table says 201, §6).
                    return try Routes.respond(subscription, request, context, status: .ok)
                case "rest-hook":
                    // Ours (beyond the FD): webhooks are a pharmacy's; an insurer may only subscribe to the FD's pings.
                    guard caller.profession.isPharmacy else { throw RequestError.professionNotAllowed(oid: caller.profession.rawValue) }
                    return try await WebhookSubscriptionCreate.answer(env, body: body, request: request, context: context)
                case let type:
                    throw RequestError.subscriptionChannelNotSupported(type ?? "")
                }
            },
        ]
    }
}

/// The checks every channel type shares.
enum SubscriptionCreate {
    /// The body as a valid R4 `Subscription`; anything else is "Error during request parsing." (IBM
    /// `SubscriptionPostHandler`, §2.1 check 1) with what was wrong as further issues.
    static func readable(_ body: Element?, validator: FHIRValidation.ProfileValidator) throws(RequestError) -> Element {
        guard let body else {
            throw .subscriptionInvalid([.init(severity: .error, code: .required, text: "The request has no body.")])
        }
        guard body.name == "Subscription" else {
            throw .subscriptionInvalid([.init(severity: .error, code: .structure, text: "Expected a Subscription, found a \(body.name).")])
        }
        let errors = validator.validate(body).issues.filter { $0.severity == .error || $0.severity == .fatal }
        guard errors.isEmpty else { throw .subscriptionInvalid(errors) }
        return body
    }
}
