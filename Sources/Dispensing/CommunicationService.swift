public import FHIRModel
public import Foundation

/// The `/Communication` use cases (fd-messaging-transport §1): the checks of §1.5 steps 2–14 in the
/// FD's order, then the store. The server has done step 1 (profile) and hands over the kind.
public struct CommunicationService: Sendable {
    public let tasks: any TaskStore
    public let store: any CommunicationStore
    public let clock: any WallClock
    public let ids: any IDGenerator
    public var payload: CommunicationPayload
    /// A_20229-01: configurable, 10 by default.
    public var representativeLimit: Int

    public init(tasks: any TaskStore, store: any CommunicationStore, clock: any WallClock = SystemWallClock(),
                ids: any IDGenerator = RandomIDGenerator(), payload: CommunicationPayload = CommunicationPayload(),
                representativeLimit: Int = Communication.representativeLimit) {
        self.tasks = tasks
        self.store = store
        self.clock = clock
        self.ids = ids
        self.payload = payload
        self.representativeLimit = representativeLimit
    }

    /// Steps 2–15 for a message whose profile (step 1) named `kind` in `profileVersion`.
    public func post(_ view: CommunicationView, kind: Communication.Kind, profileVersion: String, caller: Caller,
                     headerAccessCode: String?) async throws -> Communication {
        let now = clock.now()
        let today = CalendarDate.day(of: now)
        guard let basedOn = view.basedOn else { throw CommunicationError.unparsableBasedOn }
        // ChargChangeReq refuses the `$accept` form; Task messages need a Task reference.
        if basedOn.isChargeItem != kind.isChargeItemMessage { throw CommunicationError.unparsableBasedOn }
        let sender = try CommunicationRules.sender(of: kind, caller: caller)
        let task = try CommunicationRules.checkTask(
            of: kind, kind.isChargeItemMessage ? nil : try await tasks.task(basedOn.prescriptionID), id: basedOn.prescriptionID, today: today)
        let recipient = view.recipientIdentifier?.value ?? ""
        try CommunicationRules.checkRecipient(recipient, of: kind, flowType: task.flowType)
        if kind == .representative {
            // Step 9 at its place in the FD's order; the insert checks again in its transaction.
            let count = try await store.representativeCount(of: task.id, between: sender, and: recipient)
            if count >= representativeLimit { throw CommunicationError.tooManyRepresentativeMessages(limit: representativeLimit) }
        }
        try CommunicationRules.checkRightToSend(kind, sender: sender, recipient: recipient, task: task,
                                                basedOnAccessCode: basedOn.accessCode, headerAccessCode: headerAccessCode)
        try payload.check(view.payloads, kind: kind, flowType: task.flowType, today: today)
        // A_19448-04: the server sets id, sent and sender and drops a `received` the client sent;
        // they are rendered from the stored fields, so the stored resource holds none of them.
        var resource = view.element
        resource.children.removeAll { ["id", "sent", "received", "sender"].contains($0.name) }
        let communication = Communication(id: ids.sortableUUID(), kind: kind, profileVersion: profileVersion, prescriptionID: task.id,
                                          sender: sender, recipient: recipient, sent: now, resource: resource)
        try await store.insert(communication, representativeLimit: kind == .representative ? representativeLimit : .max)
        return communication
    }

    /// `GET /Communication/{id}`: the caller's message (sent or received), marked received for the recipient.
    public func read(_ id: String, caller: Caller) async throws -> Communication {
        guard let participant = Self.participant(caller) else { throw CommunicationError.senderClaimMissing }
        guard let found = try await store.communication(id.lowercased(), for: participant, now: clock.now()) else {
            throw CommunicationError.notFound
        }
        return found
    }

    /// `GET /Communication`: the caller's messages as stored; `select` filters, sorts and pages them
    /// and returns the page, whose messages the caller receives are then marked received (A_19521:
    /// the returned copies carry the value). Returns the number of matches and the page.
    public func search(caller: Caller, select: ([Communication]) -> (matches: Int, page: [Communication])) async throws
        -> (matches: Int, page: [Communication])
    {
        guard let participant = Self.participant(caller) else { throw CommunicationError.senderClaimMissing }
        var (matches, page) = select(try await store.communications(for: participant))
        let unread = page.filter { $0.recipient == participant && $0.received == nil }.map(\.id)
        guard !unread.isEmpty else { return (matches, page) }
        let now = clock.now()
        try await store.markReceived(unread, by: participant, at: now)
        for index in page.indices where page[index].recipient == participant && page[index].received == nil { page[index].received = now }
        return (matches, page)
    }

    /// `DELETE /Communication/{id}` (A_20258): the sender only. Another's message answers 404 like
    /// an unknown one: IBM's 401 with a text echoing the caller's id tells a stranger that the id
    /// exists and puts personal data in an answer (§1.8 leaves the choice to erx).
    public func delete(_ id: String, caller: Caller) async throws {
        guard let participant = Self.participant(caller) else { throw CommunicationError.senderClaimMissing }
        switch try await store.deleteCommunication(id.lowercased(), sender: participant) {
        case .deleted: return
        case .notFound, .notTheSender: throw CommunicationError.notFound
        }
    }

    /// The caller's `idNummer`: a KVNR or a Telematik-ID.
    static func participant(_ caller: Caller) -> String? {
        caller.kvnr?.rawValue ?? caller.telematikID?.rawValue
    }
}
