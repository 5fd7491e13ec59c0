import Dispensing
import Hummingbird

/// `GET /Subscription/{id}`: the caller's own webhook subscription; another pharmacy's is answered
/// like one that does not exist (404), so ids reveal nothing.
enum WebhookSubscriptionRead {
    static func route(_ env: ServerEnvironment) -> Route {
        Route(.get, "/Subscription/{id}", professions: Profession.pharmacies, resource: "Subscription", interaction: .read) { request, context in
            let owner = try WebhookSubscriptionResource.owner(Routes.caller(context))
            guard let id = context.parameters.get("id"),
                  let subscription = try await WebhookSubscriptionResource.store(env).subscription(id.lowercased(), owner: owner)
            else { throw RequestError.subscriptionNotFound }
            return try Routes.respond(WebhookSubscriptionResource.element(subscription), request, context)
        }
    }
}
