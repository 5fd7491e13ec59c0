/// The webhook Subscription routes (one file per operation beside this table); their creation is
/// `POST /Subscription` with `channel.type` `rest-hook` (``SubscriptionRoutes``).
enum WebhookSubscriptionRoutes {
    static func routes(_ env: ServerEnvironment) -> [Route] {
        [
            WebhookSubscriptionRead.route(env),
            WebhookSubscriptionSearch.route(env),
            WebhookSubscriptionDelete.route(env),
        ]
    }
}
