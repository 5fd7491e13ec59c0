/// The webhook Subscription routes (one file per operation beside this table).
enum WebhookSubscriptionRoutes {
    static func routes(_ env: ServerEnvironment) -> [Route] {
        [
            WebhookSubscriptionCreate.route(env),
            WebhookSubscriptionRead.route(env),
            WebhookSubscriptionSearch.route(env),
            WebhookSubscriptionDelete.route(env),
        ]
    }
}
