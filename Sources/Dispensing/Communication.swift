public import FHIRModel
public import Foundation

/// One message of the FD's `/Communication` endpoint (fd-messaging-transport §1) as the server
/// stores it: the fields it searches and filters by, and the resource as it was accepted (with the
/// server's `id`, `sent` and `sender`, without `received`, which is rendered from ``received``).
public struct Communication: Sendable, Hashable {
    /// The message types the FD accepts (IBM `acceptedCommunications`); InfoReq is retired since
    /// workflow 1.5 and refused by profile.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case dispReq = "DispReq"
        case reply = "Reply"
        case representative = "Representative"
        case diga = "DiGA"
        case chargChangeReq = "ChargChangeReq"
        case chargChangeReply = "ChargChangeReply"

        /// Reply types are sent by an institution (pharmacy or insurer) to an insurant (§1.5 step 3).
        public var isReply: Bool { self == .reply || self == .diga || self == .chargChangeReply }
        /// The PKV billing messages, which reference a ChargeItem, not a Task.
        public var isChargeItemMessage: Bool { self == .chargChangeReq || self == .chargChangeReply }
        /// DispReq and ChargChangeReq go to an institution (Telematik-ID), all others to a KVNR (step 8).
        public var recipientIsInstitution: Bool { self == .dispReq || self == .chargChangeReq }
    }

    /// A time-ordered UUID (v7), so ids sort by `sent` as IBM's `erp.gen_suuid` do.
    public var id: String
    public var kind: Kind
    /// `1.5`, `1.6` (workflow) or `1.1` (erpchrg), as claimed in `meta.profile`.
    public var profileVersion: String
    public var prescriptionID: PrescriptionID
    /// A KVNR or a Telematik-ID, from the token's `idNummer`.
    public var sender: String
    /// A KVNR or a Telematik-ID, as the client addressed it.
    public var recipient: String
    public var sent: Date
    /// When the recipient first read it (A_19521); `nil`: unread.
    public var received: Date?
    /// The Communication as accepted, with server `id`, `sent` and `sender`, without `received`.
    public var resource: Element

    public init(id: String, kind: Kind, profileVersion: String, prescriptionID: PrescriptionID, sender: String, recipient: String,
                sent: Date, received: Date? = nil, resource: Element) {
        self.id = id
        self.kind = kind
        self.profileVersion = profileVersion
        self.prescriptionID = prescriptionID
        self.sender = sender
        self.recipient = recipient
        self.sent = sent
        self.received = received
        self.resource = resource
    }

    /// A_20229-01: the default limit of Representative messages between two insurants on one task.
    public static let representativeLimit = 10
}

/// The durable store of messages. Implemented by both stores beside ``TaskStore`` (one database,
/// one transaction for `$abort`'s delete, see ``TaskChange/deleteCommunications``).
public protocol CommunicationStore: Sendable {
    /// Stores a message. For a Representative message the count of messages between the same two
    /// KVNRs on the same task (both directions) is taken in the same transaction and the insert
    /// refused with ``CommunicationError/tooManyRepresentativeMessages(limit:)`` when it is already
    /// `representativeLimit` or more (A_20229-01), so two concurrent posts cannot both pass.
    func insert(_ communication: Communication, representativeLimit: Int) async throws

    /// How many Representative messages the two insurants exchanged on the task (for the check's
    /// place in the FD's order; the insert checks again atomically).
    func representativeCount(of prescriptionID: PrescriptionID, between first: String, and second: String) async throws -> Int

    /// One message by id, if `participant` sent or receives it (A_19520-02); for the recipient its
    /// `received` is set to `now` when it was unset (A_19521), and the returned copy carries it.
    func communication(_ id: String, for participant: String, now: Date) async throws -> Communication?

    /// Every message `participant` sent or receives, ordered by id (= `sent`), as stored: the search
    /// filters (`received=NULL` too) before ``markReceived(_:by:at:)`` marks what it returns.
    func communications(for participant: String) async throws -> [Communication]

    /// Sets `received` to `now` on those of `ids` that `recipient` receives and has not read yet.
    func markReceived(_ ids: [String], by recipient: String, at now: Date) async throws

    /// Deletes a message the `sender` sent; `.notFound` if there is none such, `.notTheSender` if
    /// it exists but someone else sent it.
    func deleteCommunication(_ id: String, sender: String) async throws -> CommunicationDeletion
}

public enum CommunicationDeletion: Sendable, Hashable {
    case deleted, notFound, notTheSender
}
