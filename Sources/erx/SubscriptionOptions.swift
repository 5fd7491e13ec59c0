import ArgumentParser
import FHIRServer
import Foundation

/// `erx serve`'s options of `POST /Subscription` and the websocket endpoint (issue 23).
struct SubscriptionOptions: ParsableArguments {
    @Option(help: "PEM file of the P-256 key that signs the websocket tokens of POST /Subscription; default: a key made in the data directory.")
    var subscriptionSigningKey: String?

    @Option(help: "File of the AES-128 key (32 hex characters) of the Telematik-ID pseudonyms (Subscription.id, A_22365); default: a key made in the data directory.")
    var subscriptionPseudonymKey: String?

    @Option(help: "The path of the websocket endpoint on the server's listener.")
    var websocketPath = "/subscription"

    @Option(help: "Most websockets open at once for one subscription (one Telematik-ID); 429 beyond.")
    var websocketMaxPerSubscription = WebSocketLimits().maximumPerSubscription

    @Option(help: "Most websockets open at once in all; 503 beyond.")
    var websocketMaxConnections = WebSocketLimits().maximumConnections

    func validate() throws {
        guard websocketPath.hasPrefix("/"), !websocketPath.contains("?") else { throw ValidationError("--websocket-path must be a path starting with /") }
        guard websocketMaxPerSubscription > 0, websocketMaxConnections > 0 else { throw ValidationError("websocket limits must be positive") }
    }

    /// The settings, with the keys from their files or the data directory.
    func settings(directory: URL) throws -> SubscriptionSettings {
        let tokens = try subscriptionSigningKey.map { try SubscriptionTokens.load(file: URL(fileURLWithPath: $0)) }
            ?? SubscriptionTokens.loadOrCreate(in: directory)
        let pseudonyms = try subscriptionPseudonymKey.map { try TelematikPseudonyms.load(file: URL(fileURLWithPath: $0)) }
            ?? TelematikPseudonyms.loadOrCreate(in: directory)
        return SubscriptionSettings(tokens: tokens, pseudonyms: pseudonyms,
                                    limits: WebSocketLimits(maximumPerSubscription: websocketMaxPerSubscription,
                                                            maximumConnections: websocketMaxConnections),
                                    path: websocketPath)
    }
}
