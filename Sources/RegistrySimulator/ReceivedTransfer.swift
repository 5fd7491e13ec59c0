import Foundation

/// One transfer the simulator applied: what a test inspects through `GET /_sim/received`.
public struct ReceivedTransfer: Codable, Sendable, Equatable {
    /// `provide-dispensation-erp`, `cancel-dispensation-erp`, `provide-prescription-erp` or `cancel-prescription-erp`.
    public var operation: String
    public var kvnr: String
    public var prescriptionId: String
    /// The `status` part of a provide-dispensation (`in-progress` or `completed`); `nil` otherwise.
    public var status: String?
    public var idempotencyKey: String
    /// When it arrived: ISO 8601, UTC, with milliseconds.
    public var receivedAt: String

    public init(operation: String, kvnr: String, prescriptionId: String, status: String?, idempotencyKey: String, receivedAt: String) {
        self.operation = operation
        self.kvnr = kvnr
        self.prescriptionId = prescriptionId
        self.status = status
        self.idempotencyKey = idempotencyKey
        self.receivedAt = receivedAt
    }

    enum CodingKeys: String, CodingKey {
        case operation, kvnr, prescriptionId, status, idempotencyKey, receivedAt
    }

    /// Written by hand so an absent `status` is an explicit JSON `null`: clients can rely on every
    /// key being present.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(operation, forKey: .operation)
        try container.encode(kvnr, forKey: .kvnr)
        try container.encode(prescriptionId, forKey: .prescriptionId)
        try container.encode(status, forKey: .status)
        try container.encode(idempotencyKey, forKey: .idempotencyKey)
        try container.encode(receivedAt, forKey: .receivedAt)
    }

    /// The timestamp format of ``receivedAt``.
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
