import Dispensing
import FHIRModel
import Foundation

/// How a webhook subscription reads and writes as a FHIR R4 `Subscription` with `channel.type`
/// `rest-hook` (issue 23, item 3; our addition, the FD has no webhooks).
///
/// - `criteria`: the grammar of ``WebhookCriteria`` (`Task`, `Task?_event=dispense.recorded`,
///   `Task?status=completed,cancelled`, `MedicationDispense`, …).
/// - `channel.endpoint`: an absolute `http`/`https` URL the deliveries are POSTed to.
/// - `channel.payload`: `application/fhir+json` (the event as a `Parameters` body) or absent (an
///   empty notification). `channel.header` is not supported (refused, not silently dropped).
/// - The HMAC secret that signs the deliveries comes back once, in the 201 of the create, as the
///   extension ``secretExtension`` (`valueString`); reads and searches never show it.
enum WebhookSubscriptionResource {
    static let secretExtension = "https://erx.invalid/fhir/StructureDefinition/webhook-secret"
    static let restHook = "rest-hook"

    /// What a posted rest-hook Subscription asks for, after checking every field.
    struct Request: Sendable, Hashable {
        var criteria: String
        var endpoint: String
        var payload: String?
        var reason: String?
    }

    static func request(of body: Element) throws -> Request {
        guard body.name == "Subscription" else { throw RequestError.wrongResource(expected: "Subscription", found: body.name) }
        if let status = body.value(of: "status"), status != "requested", status != "active" {
            throw RequestError.invalidResource(reason: "A new Subscription has status requested (or active).", expression: "Subscription.status")
        }
        guard let channel = body.child("channel") else {
            throw RequestError.invalidResource(reason: "A Subscription needs a channel.", expression: "Subscription.channel")
        }
        guard channel.value(of: "type") == restHook else {
            throw RequestError.invalidResource(reason: "This endpoint takes channel.type rest-hook.", expression: "Subscription.channel.type")
        }
        guard let criteriaText = body.value(of: "criteria") else {
            throw RequestError.invalidResource(reason: "A Subscription needs criteria (Task or MedicationDispense, with _event or status).",
                                               expression: "Subscription.criteria")
        }
        do {
            _ = try WebhookCriteria(parsing: criteriaText)
        } catch {
            throw RequestError.invalidResource(reason: "Unsupported criteria: \(error.reason).", expression: "Subscription.criteria")
        }
        guard let endpoint = channel.value(of: "endpoint"), isEndpoint(endpoint) else {
            throw RequestError.invalidResource(reason: "channel.endpoint must be an absolute http or https URL.",
                                               expression: "Subscription.channel.endpoint")
        }
        let payload = channel.value(of: "payload")
        if let payload, payload != WebhookPayload.fhirJSON {
            throw RequestError.invalidResource(reason: "channel.payload must be application/fhir+json, or absent for empty notifications.",
                                               expression: "Subscription.channel.payload")
        }
        if !channel.children(named: "header").isEmpty {
            throw RequestError.invalidResource(reason: "channel.header is not supported; deliveries are signed instead.",
                                               expression: "Subscription.channel.header")
        }
        return Request(criteria: criteriaText, endpoint: endpoint, payload: payload, reason: body.value(of: "reason"))
    }

    /// An absolute `http`/`https` URL with a host and no credentials in it.
    static func isEndpoint(_ text: String) -> Bool {
        guard text.count <= 2048, let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty, components.user == nil, components.password == nil
        else { return false }
        return true
    }

    /// The stored subscription as a resource; `withSecret` only in the create's answer.
    static func element(_ subscription: WebhookSubscription, withSecret: Bool = false) -> Element {
        .complex("Subscription", [
            .primitive("id", subscription.id),
            .complex("meta", [.primitive("lastUpdated", FHIRInstant.format(subscription.createdAt))]),
            withSecret ? Element.extension(url: secretExtension, Element.primitive("valueString", subscription.secret)) : nil,
            .primitive("status", "active"),
            .primitive("reason", subscription.reason ?? "webhook"),
            .primitive("criteria", subscription.criteria),
            .complex("channel", [
                .primitive("type", restHook),
                .primitive("endpoint", subscription.endpoint),
                subscription.payload.map { .primitive("payload", $0) },
            ]),
        ])
    }

    /// The owner's Telematik-ID; 400 for a token without one.
    static func owner(_ caller: Caller) throws -> TelematikID {
        guard let id = caller.telematikID else { throw RequestError.tokenClaimMissing("idNummer") }
        return id
    }

    /// The subscription store, when the server's store keeps webhooks (both stores do).
    static func store(_ env: ServerEnvironment) throws -> any WebhookStore {
        guard let store = env.service.store as? any WebhookStore else { throw RequestError.routeNotFound }
        return store
    }
}
