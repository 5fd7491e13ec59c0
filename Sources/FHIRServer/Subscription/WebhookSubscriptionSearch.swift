import Dispensing
import Hummingbird

/// `GET /Subscription`: the caller's own webhook subscriptions, oldest first, as a searchset.
enum WebhookSubscriptionSearch {
    static func route(_ env: ServerEnvironment) -> Route {
        Route(.get, "/Subscription", professions: Profession.pharmacies, resource: "Subscription", interaction: .searchType) { request, context in
            let owner = try WebhookSubscriptionResource.owner(Routes.caller(context))
            let subscriptions = try await WebhookSubscriptionResource.store(env).subscriptions(of: owner)
            let entries = subscriptions.map { WebhookSubscriptionResource.element($0) }
            let bundle = Bundles.matches(entries, baseURL: env.baseURL, id: RandomIDGenerator.randomUUID())
            return try Routes.respond(bundle, request, context)
        }
    }
}
