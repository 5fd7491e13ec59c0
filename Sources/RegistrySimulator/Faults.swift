/// The failures the simulator is told to produce, set through `POST /_sim/faults`.
///
/// Every key is optional when decoded, so `{}` means "no faults": a test states only the faults it
/// wants and never inherits the previous test's settings.
public struct Faults: Codable, Sendable, Equatable {
    /// KVNRs whose consent decisions are `deny` (the relay must not transmit for them).
    public var deny: [String]
    /// KVNRs whose medication service answers 423 `locked` (the insurant objected).
    public var locked: [String]
    /// KVNRs whose medication service answers 409 `statusMismatch` (record relocation).
    public var conflict: [String]
    /// The chance (0–1) that a transfer answers 500 `internalError`.
    public var errorRate: Double
    /// A delay before every registry answer, in milliseconds.
    public var latencyMs: Int
    /// KVNRs whose record system answers (their consent lookups and transfers) only after the given
    /// milliseconds: one slow record system among healthy ones.
    public var slow: [String: Int]
    /// The whole registry (everything but `/_sim`) answers 503.
    public var down: Bool
    /// KVNRs whose medication service answers 200 and refuses each transfer in its outcome with the
    /// given code (`MEDSVC_PRESCRIPTION_NO_EXIST`, …), applying nothing.
    public var refused: [String: String]

    public init(deny: [String] = [], locked: [String] = [], conflict: [String] = [], errorRate: Double = 0, latencyMs: Int = 0,
                slow: [String: Int] = [:], down: Bool = false, refused: [String: String] = [:]) {
        self.refused = refused
        self.deny = deny
        self.locked = locked
        self.conflict = conflict
        self.errorRate = errorRate
        self.latencyMs = latencyMs
        self.slow = slow
        self.down = down
    }

    enum CodingKeys: String, CodingKey {
        case deny, locked, conflict, errorRate, latencyMs, slow, down, refused
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            deny: try container.decodeIfPresent([String].self, forKey: .deny) ?? [],
            locked: try container.decodeIfPresent([String].self, forKey: .locked) ?? [],
            conflict: try container.decodeIfPresent([String].self, forKey: .conflict) ?? [],
            errorRate: try container.decodeIfPresent(Double.self, forKey: .errorRate) ?? 0,
            latencyMs: try container.decodeIfPresent(Int.self, forKey: .latencyMs) ?? 0,
            slow: try container.decodeIfPresent([String: Int].self, forKey: .slow) ?? [:],
            down: try container.decodeIfPresent(Bool.self, forKey: .down) ?? false,
            refused: try container.decodeIfPresent([String: String].self, forKey: .refused) ?? [:]
        )
    }

    /// Why these settings cannot be put in force, or `nil` when they can.
    var problem: String? {
        if !(0...1).contains(errorRate) { return "errorRate must be a number from 0 to 1" }
        if latencyMs < 0 { return "latencyMs must be an integer of at least 0" }
        if slow.values.contains(where: { $0 < 0 }) { return "slow must map KVNRs to milliseconds of at least 0" }
        return nil
    }
}
