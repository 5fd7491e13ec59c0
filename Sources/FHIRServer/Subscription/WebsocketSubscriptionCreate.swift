import Dispensing
import FHIRModel
import Foundation

/// `POST /Subscription` with `channel.type` `websocket`, as the FD answers it (fd-messaging-transport
/// §2.1, IBM `SubscriptionPostHandler.cxx`, `model/Subscription.cxx`), checks in IBM's order.
enum WebsocketSubscriptionCreate {
    static let reason = "communication notifications"

    /// The Subscription to answer with (A_22364), or the refusal.
    static func answer(_ body: Element, caller: Caller, settings: SubscriptionSettings, now: Date) async throws -> Element {
        let criteria = body.value(of: "criteria") ?? ""
        // Check 2: `Communication?…` and its `recipient`; other parameters (`received=null`) are ignored.
        guard let recipient = recipient(inCriteria: criteria) else { throw RequestError.subscriptionRecipientMissing }
        // Check 3.
        guard body.value(of: "status") == "requested" else { throw RequestError.subscriptionStatusNotSupported }
        // Check 4: a token without a (valid) Telematik-ID.
        guard let telematikID = caller.telematikID else { throw RequestError.subscriptionTelematikIDMissing }
        // Check 5, A_22363: only for oneself.
        guard recipient == telematikID.rawValue else { throw RequestError.subscriptionRecipientMismatch }

        // A_22365: the id is the Telematik-ID's pseudonym; A_22366: the token names it.
        let id = settings.pseudonyms.pseudonym(of: telematikID)
        let issued = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let end = issued.addingTimeInterval(settings.lifetime.rounded(.down))
        let token = try await settings.tokens.issue(subscriptionID: id, issued: issued, expires: end)
        return .complex("Subscription", [
            .primitive("id", id),
            .primitive("status", "active"),
            .primitive("end", FHIRInstant.formatSeconds(end)),
            // IBM overwrites the client's reason.
            .primitive("reason", reason),
            .primitive("criteria", criteria),
            .complex("channel", [
                .primitive("type", "websocket"),
                .primitive("header", "Authorization: Bearer \(token)"),
            ]),
        ])
    }

    /// The `recipient` of `Communication?…recipient=X…`; `nil` when the path is not `Communication`
    /// or there is no non-empty recipient.
    static func recipient(inCriteria criteria: String) -> String? {
        guard let question = criteria.firstIndex(of: "?"), criteria[..<question] == "Communication" else { return nil }
        for parameter in criteria[criteria.index(after: question)...].split(separator: "&") {
            let parts = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == "recipient" else { continue }
            let value = String(parts[1]).removingPercentEncoding ?? String(parts[1])
            return value.isEmpty ? nil : value
        }
        return nil
    }
}
