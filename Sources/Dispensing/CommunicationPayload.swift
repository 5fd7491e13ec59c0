public import FHIRModel
import Foundation

/// The payload checks of `POST /Communication` (fd-messaging-transport §1.4; A_19450-01, A_23878-02,
/// A_23879-01, A_23878-01): hand-coded shapes of the FD's JSON schemas v1 and v3 for DispReq and
/// Reply (no JSON-Schema library is on our package list); every other type is free text.
public struct CommunicationPayload: Sendable, Hashable {
    /// What the FD answers (400): its text, and where the schema failed.
    public struct Refusal: Sendable, Hashable {
        public var text: String
        public var diagnostics: String?
    }

    /// The first German day a v3 payload is accepted (`payloadV3ValidFrom`).
    public var v3ValidFrom: String
    /// The last German day a v1 payload is accepted (`payloadV1ValidUntil`, 2099-12-31 in production).
    public var v1ValidUntil: String

    public init(v3ValidFrom: String = "2026-10-01", v1ValidUntil: String = "2099-12-31") {
        self.v3ValidFrom = v3ValidFrom
        self.v1ValidUntil = v1ValidUntil
    }

    public static let maximumBytes = 10240
    static let schemaFailed = "Invalid payload: does not conform to expected JSON schema: validation of JSON document failed"

    /// Checks the `payload` elements of a message of `kind` on a task of `flowType`, on the German
    /// day `today` (`YYYY-MM-DD`). No payload: no checks (the profiles say where one is required).
    public func check(_ payloads: [Element], kind: Communication.Kind, flowType: FlowType, today: String) throws(CommunicationError) {
        guard !payloads.isEmpty else { return }
        guard payloads.count == 1, let text = payloads[0].value(of: "contentString") else {
            throw .payload(Refusal(text: "Invalid payload: exactly one payload of type contentString is expected", diagnostics: nil))
        }
        guard text.utf8.count <= Self.maximumBytes else { throw .payload(Refusal(text: "Payload must not exceed 10 KB.", diagnostics: nil)) }
        guard kind == .dispReq || kind == .reply else { return }
        let json: PayloadJSON
        do {
            json = try PayloadJSON.parse(text)
        } catch {
            throw Self.schema("the payload is not JSON")
        }
        guard case .object(let members) = json else { throw Self.schema("the payload is not a JSON object") }
        guard let versionValue = members["version"] else { throw Self.schema("version is required") }
        guard case .integer(let version) = versionValue else {
            throw .payload(Refusal(text: "version must be 'integer'", diagnostics: nil))
        }
        switch version {
        case 1:
            guard today <= v1ValidUntil else { throw .payload(Refusal(text: "Invalid payload version: 1", diagnostics: nil)) }
            try (kind == .dispReq ? Self.dispReqV1 : Self.replyV1)(members)
        case 3:
            guard today >= v3ValidFrom else {
                let german = v3ValidFrom.split(separator: "-").reversed().joined(separator: ".")
                throw .payload(Refusal(text: "Communication payload version 3 will be valid from \(german)",
                                       diagnostics: "Communication payload version 3 will be valid from \(german)"))
            }
            try (kind == .dispReq ? Self.dispReqV3 : Self.replyV3)(members)
        default:
            throw .payload(Refusal(text: "Invalid payload version: \(version)", diagnostics: nil))
        }
        // A_23878-01 (E2E ERP_COMMUNICATION_TREZEPT_01): IBM reads supplyOptionsType in any
        // version, so a v3 text DispReq (which has none) fails for flow 166 too.
        if kind == .dispReq, flowType == .tPrescription {
            guard case .string(let option)? = members["supplyOptionsType"], option == "onPremise" || option == "delivery" else {
                throw .payload(Refusal(text: "for flowType 166 only onPremise and delivery are allowed", diagnostics: nil))
            }
        }
    }

    static func schema(_ detail: String) -> CommunicationError {
        .payload(Refusal(text: schemaFailed, diagnostics: detail))
    }

    // MARK: shapes

    typealias Members = [String: PayloadJSON]
    typealias Rule = @Sendable (PayloadJSON) -> Bool

    /// Checks that only `allowed` keys occur, every `required` one does, and each value passes its rule.
    static func shape(_ members: Members, _ name: String, required: Set<String>, rules: [String: Rule]) throws(CommunicationError) {
        for key in members.keys.sorted() where rules[key] == nil { throw schema("\(name): property '\(key)' is not allowed") }
        for key in required.sorted() where members[key] == nil { throw schema("\(name): property '\(key)' is required") }
        for (key, value) in members.sorted(by: { $0.key < $1.key }) where rules[key]?(value) == false {
            throw schema("\(name): property '\(key)' has an invalid value")
        }
    }

    static func string(_ range: ClosedRange<Int>, _ extra: @escaping @Sendable (String) -> Bool = { _ in true }) -> Rule {
        { if case .string(let text) = $0 { range.contains(text.count) && extra(text) } else { false } }
    }
    static func oneOf(_ values: Set<String>) -> Rule { string(0...Int.max) { values.contains($0) } }
    static func integer(_ values: Set<Int>? = nil) -> Rule {
        { if case .integer(let value) = $0 { values?.contains(value) ?? true } else { false } }
    }
    static let number: Rule = { switch $0 { case .integer, .number: true; default: false } }
    static let phone = string(1...32) { text in
        let digits = text.hasPrefix("+") ? text.dropFirst() : text.hasPrefix("00") ? text.dropFirst(2) : nil
        return digits.map { !$0.isEmpty && $0.allSatisfy { $0 >= "0" && $0 <= "9" } } ?? false
    }
    static let email = string(3...254) { $0.contains("@") }
    static let supplyOptions: Set<String> = ["onPremise", "shipment", "delivery"]

    /// A URL with a scheme and a host (IBM checks the v1 Reply `url` so).
    static func hasSchemeAndHost(_ text: String) -> Bool {
        guard let colon = text.range(of: "://"), !text[..<colon.lowerBound].isEmpty else { return false }
        return !(text[colon.upperBound...].split(separator: "/").first ?? "").isEmpty
    }

    static func dispReqV1(_ members: Members) throws(CommunicationError) {
        try shape(members, "DispReq v1", required: ["version", "supplyOptionsType"], rules: [
            "version": integer([1]), "supplyOptionsType": oneOf(supplyOptions), "name": string(0...100),
            "address": { if case .array(let lines) = $0 { lines.allSatisfy(string(0...500)) } else { false } },
            "hint": string(0...500), "phone": string(0...32),
        ])
    }

    static func replyV1(_ members: Members) throws(CommunicationError) {
        try shape(members, "Reply v1", required: ["version", "supplyOptionsType"], rules: [
            "version": integer([1]), "supplyOptionsType": oneOf(supplyOptions), "info_text": string(0...500),
            "url": string(0...500, hasSchemeAndHost), "pickUpCodeHR": string(0...8), "pickUpCodeDMC": string(0...128),
        ])
        // E2E ERP_COMMUNICATION_SEND_06/8: a pick-up code only for collection on premise.
        if members["pickUpCodeHR"] != nil || members["pickUpCodeDMC"] != nil, members["supplyOptionsType"] != .string("onPremise") {
            throw schema("Reply v1: a pick-up code needs supplyOptionsType 'onPremise'")
        }
    }

    static func dispReqV3(_ members: Members) throws(CommunicationError) {
        let common: [String: Rule] = [
            "version": integer([3]), "transactionID": string(1...50), "communicationType": oneOf(["order", "text"]),
            "hint": string(0...100), "text": string(0...800), "email": email, "phone": phone,
        ]
        guard members["version"] != nil, members["transactionID"] != nil else { throw schema("DispReq v3: version and transactionID are required") }
        switch (members["communicationType"], members["supplyOptionsType"]) {
        case (.string("text")?, _):
            try shape(members, "DispReq v3 text", required: ["communicationType", "text"], rules: common)
        case (.string("order")?, .string("onPremise")?):
            try shape(members, "DispReq v3 onPremise order", required: ["communicationType", "supplyOptionsType", "phone"],
                      rules: common.merging(["supplyOptionsType": oneOf(["onPremise"])]) { $1 })
        case (.string("order")?, .string("delivery")?), (.string("order")?, .string("shipment")?):
            try shape(members, "DispReq v3 delivery order",
                      required: ["communicationType", "supplyOptionsType", "firstname", "lastname", "address", "postcode", "city", "country", "phone"],
                      rules: common.merging([
                          "supplyOptionsType": oneOf(["delivery", "shipment"]), "firstname": string(1...45), "lastname": string(1...45),
                          "address": string(3...100), "postcode": string(3...10), "city": string(2...100), "country": string(2...3),
                      ]) { $1 })
        default:
            throw schema("DispReq v3: communicationType must be 'order' (with supplyOptionsType) or 'text'")
        }
    }

    static func replyV3(_ members: Members) throws(CommunicationError) {
        let base: [String: Rule] = ["version": integer([3]), "transactionID": string(1...50), "communicationType": string(1...50)]
        let text = string(0...800)
        let shapes: [String: (required: Set<String>, rules: [String: Rule])] = [
            "text": (["text"], ["text": text]),
            "link": (["text", "url"], ["text": text, "url": string(9...500) { $0.hasPrefix("https://") && hasSchemeAndHost($0) }]),
            "reservationStatus": (["readyForCollection"], ["readyForCollection": oneOf(
                ["immediately", "sameDay", "nextDay", "nextDayAM", "nextDayPM", "unknown", "notAvailable"])]),
            "pickupCodeHR": (["pickupCodeHR"], ["text": text, "pickupCodeHR": string(1...8) { $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }]),
            "pickupCodeDMC": (["pickupCodeDMC"], ["text": text, "pickupCodeDMC": string(8...2000)]),
            "deliveryStatus": (["deliveryStatus"], [
                "text": text, "deliveryStatus": oneOf(["preparedWaiting", "inTransport", "delivered", "incident"]),
                "inTransportPosition": { if case .object(let o) = $0 { Set(o.keys) == ["lat", "long"] && o.values.allSatisfy(number) } else { false } },
                "inTransportETA": { if case .object(let o) = $0 { Set(o.keys) == ["from", "to"] && o.values.allSatisfy(integer()) } else { false } },
            ]),
            "paymentInfo": (["totalAmount", "paymentMethods"], [
                "text": text, "totalAmount": integer(),
                "paymentMethods": { value in
                    guard case .array(let methods) = value, !methods.isEmpty else { return false }
                    return methods.allSatisfy { method in
                        guard case .object(let o) = method, Set(o.keys).isSubset(of: ["method", "url"]), o["method"] != nil else { return false }
                        return oneOf(["cash", "bankaccount", "creditcard", "paypal"])(o["method"]!) && (o["url"].map(string(1...500)) ?? true)
                    }
                },
            ]),
        ]
        guard members["version"] != nil, members["transactionID"] != nil, case .string(let type)? = members["communicationType"] else {
            throw schema("Reply v3: version, communicationType and transactionID are required")
        }
        guard let shape = shapes[type] else { throw schema("Reply v3: unknown communicationType '\(type)'") }
        try Self.shape(members, "Reply v3 \(type)", required: shape.required, rules: base.merging(shape.rules) { $1 })
    }
}
