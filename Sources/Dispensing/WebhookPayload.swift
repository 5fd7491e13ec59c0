public import Foundation

/// A delivery row as the store inserts it: which subscription, under which key, with which body.
public struct NewWebhookDelivery: Sendable, Hashable {
    public var subscriptionID: String
    public var idempotencyKey: String
    public var eventKind: String
    public var body: [UInt8]
}

/// What a subscription receives for an event. With `channel.payload` `application/fhir+json` the
/// body is a FHIR `Parameters` resource naming the event, the subscription and the task (ids and
/// codes only: no dispensation, no insurant data, which the pharmacy reads from the server itself);
/// without a payload the body is empty (R4's "empty" rest-hook notification).
public enum WebhookPayload {
    public static let fhirJSON = "application/fhir+json"

    /// The delivery rows `events` cause among `subscriptions` (the store passes those of each
    /// event's pharmacy): one per matching pair, in event order, then subscription order. A
    /// subscription whose stored criteria no longer parse receives nothing.
    public static func deliveries(for events: [DispensingEvent], among subscriptions: [WebhookSubscription]) -> [NewWebhookDelivery] {
        var rows: [NewWebhookDelivery] = []
        for event in events {
            for subscription in subscriptions where subscription.owner == event.pharmacy {
                guard let criteria = try? WebhookCriteria(parsing: subscription.criteria), criteria.matches(event) else { continue }
                rows.append(NewWebhookDelivery(
                    subscriptionID: subscription.id, idempotencyKey: "\(event.id).\(subscription.id)", eventKind: event.kind.rawValue,
                    body: subscription.payload == fhirJSON ? body(of: event, subscriptionID: subscription.id) : []
                ))
            }
        }
        return rows
    }

    /// The `Parameters` body. Every value is an id, a code or an instant the server made, but each
    /// is escaped anyway.
    public static func body(of event: DispensingEvent, subscriptionID: String) -> [UInt8] {
        func parameter(_ name: String, _ type: String, _ value: String) -> String {
            "{\"name\":\"\(name)\",\"\(type)\":\(quoted(value))}"
        }
        let parameters = [
            parameter("event-id", "valueString", event.id),
            parameter("event", "valueCode", event.kind.rawValue),
            "{\"name\":\"subscription\",\"valueReference\":{\"reference\":\(quoted("Subscription/" + subscriptionID))}}",
            "{\"name\":\"focus\",\"valueReference\":{\"reference\":\(quoted("Task/" + event.prescriptionID.rawValue))}}",
            parameter("prescription-id", "valueString", event.prescriptionID.rawValue),
            parameter("status", "valueCode", event.status.rawValue),
            parameter("timestamp", "valueInstant", instant(event.occurredAt)),
        ]
        return Array("{\"resourceType\":\"Parameters\",\"parameter\":[\(parameters.joined(separator: ","))]}".utf8)
    }

    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// `yyyy-MM-ddTHH:mm:ss.SSSZ` in UTC.
    static func instant(_ date: Date) -> String {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC") ?? .current)
        return date.formatted(style)
    }
}
