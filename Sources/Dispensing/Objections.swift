public import Foundation

/// What an insured person can object to: the two ePA consent functions (`functionId` of the
/// registry's consent decisions). Either one locks `$dispense` (ARCHITECTURE decision 5).
public enum ObjectionCategory: String, Sendable, Hashable, CaseIterable, Comparable {
    /// The medication process of the ePA as a whole.
    case medication
    /// Sending prescription and dispensation data from the e-prescription service to the ePA.
    case erpSubmission = "erp-submission"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// How `$dispense` answers for an insured person who objected: a deployment choice.
public enum ObjectionResponse: String, Sendable, Hashable, CaseIterable {
    /// Ours (ARCHITECTURE decision 5): 423 Locked, nothing stored, so the pharmacy knows.
    case locked
    /// As the production service: 204, the dispensation stored, and no registry transfer
    /// (A_25951-01), so FD conformance suites see the FD's answer.
    case fd
}

/// Where the server learnt of an objection. Each source is lifted only by its own kind of news:
/// a registry objection by a later `permit` from the registry, the insurant's own by their `DELETE`.
public enum ObjectionSource: String, Sendable, Hashable, CaseIterable {
    /// The registry's consent-decision lookup answered `deny`.
    case consentDecision = "consent-decision"
    /// The registry answered a transfer with 423 `locked`.
    case registryLocked = "registry-locked"
    /// The insurant posted a `Consent` (objection) to this server.
    case consentResource = "consent-resource"

    /// The sources the registry speaks for: a `permit` from its lookup lifts both.
    public static let registry: Set<ObjectionSource> = [.consentDecision, .registryLocked]
}

/// One stored objection: the insurant is locked while any of theirs exists.
public struct Objection: Sendable, Hashable {
    public var kvnr: KVNR
    public var category: ObjectionCategory
    public var source: ObjectionSource
    /// When the server learnt of it.
    public var since: Date

    public init(kvnr: KVNR, category: ObjectionCategory, source: ObjectionSource, since: Date) {
        self.kvnr = kvnr
        self.category = category
        self.source = source
        self.since = since
    }
}

/// The registry's side of the objection state (ARCHITECTURE decision 5): asks the registry's consent
/// decisions and records what it learns in the store, where `$dispense` reads it in its transaction.
///
/// `refresh` never throws and never takes longer than its lookup budget: when the registry does not
/// answer in time, the decision is taken on what is stored (the last known state), and the relay
/// checks again before every transfer.
public protocol ObjectionRegistry: Sendable {
    /// Whether the registry should be asked about `kvnr` before `$dispense` decides: its decision is
    /// not current and it has not just failed to answer. Called inside the store's transaction, so
    /// it only looks at what is in memory: `false` when there is no registry to ask.
    func needsRefresh(_ kvnr: KVNR) -> Bool
    func refresh(_ kvnr: KVNR) async
}

/// No registry configured: only objections posted to this server (and those stored earlier) count.
public struct StoredObjectionsOnly: ObjectionRegistry {
    public init() {}
    public func needsRefresh(_ kvnr: KVNR) -> Bool { false }
    public func refresh(_ kvnr: KVNR) async {}
}
