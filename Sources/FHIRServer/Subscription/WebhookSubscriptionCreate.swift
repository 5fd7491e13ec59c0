import Dispensing
import FHIRModel
import Foundation
import Hummingbird

/// `POST /Subscription` with `channel.type` `rest-hook`: stores the pharmacy's webhook and answers
/// 201 with a Location and, this once, the signing secret (``WebhookSubscriptionResource``). Called by
/// `POST /Subscription`'s dispatch on `channel.type` (``SubscriptionRoutes``), which the FD's
/// websocket Subscription shares, after the body was read and validated against R4 core.
enum WebhookSubscriptionCreate {
    static let maximumPerPharmacy = 10

    static func answer(_ env: ServerEnvironment, body: Element, request: Request, context: ErxRequestContext) async throws -> Response {
        let owner = try WebhookSubscriptionResource.owner(Routes.caller(context))
        let asked = try WebhookSubscriptionResource.request(of: body)
        let store = try WebhookSubscriptionResource.store(env)
        // Each matching subscription is one row written in the transaction of every `$dispense` of
        // the pharmacy, so their number is bounded (checked before the insert: two creations at
        // once may pass it by one; the bound is about cost, not a count anyone relies on).
        guard try await store.subscriptions(of: owner).count < maximumPerPharmacy else {
            throw RequestError.invalidResource(reason: "A pharmacy holds at most \(maximumPerPharmacy) webhook subscriptions; delete one first.",
                                               expression: "Subscription")
        }
        let subscription = WebhookSubscription(
            id: RandomIDGenerator.randomUUID(), owner: owner, criteria: asked.criteria, endpoint: asked.endpoint, payload: asked.payload,
            secret: secret(), reason: asked.reason, createdAt: env.service.clock.now()
        )
        try await store.insertSubscription(subscription)
        return try Routes.respond(WebhookSubscriptionResource.element(subscription, withSecret: true), request, context, status: .created,
                                  headers: [.location: "\(env.baseURL)/Subscription/\(subscription.id)"])
    }

    /// 256 random bits (the kernel's CSPRNG), as 64 lowercase hex digits; the HMAC key is their UTF-8.
    static func secret() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let word = generator.next() as UInt64
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}
