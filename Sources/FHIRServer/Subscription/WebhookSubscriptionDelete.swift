import Dispensing
import Hummingbird

/// `DELETE /Subscription/{id}`: removes the caller's webhook subscription and drops its pending
/// deliveries (204); another pharmacy's, or none, is 404.
enum WebhookSubscriptionDelete {
    static func route(_ env: ServerEnvironment) -> Route {
        Route(.delete, "/Subscription/{id}", professions: Profession.pharmacies, resource: "Subscription",
              interaction: .custom("DELETE /Subscription/{id} deletes one of the caller's webhook subscriptions")) { _, context in
            let owner = try WebhookSubscriptionResource.owner(Routes.caller(context))
            guard let id = context.parameters.get("id"),
                  try await WebhookSubscriptionResource.store(env).deleteSubscription(id.lowercased(), owner: owner)
            else { throw RequestError.subscriptionNotFound }
            return Response(status: .noContent)
        }
    }
}
