public import Dispensing
import Synchronization

/// The open websockets by subscription id (the Telematik-ID's pseudonym), and the port through
/// which a stored DispReq or ChargChangeReq reaches them (A_22367-03).
///
/// A connection is counted when its upgrade is admitted (``open(_:)``) and receives pings once it
/// is bound (``bind(_:to:)``). ``messageArrived(for:)`` never waits for a socket: it hands one event
/// to each bound connection's own buffer under a short lock, and each connection's task writes it.
/// A connection that does not read its pings fast enough loses the oldest (a ping carries no data,
/// and the client debounces them anyway, §2.3).
public final class NotificationHub: RecipientNotifier, Sendable {
    /// What a connection's writer sends: `bound: <id>` once, then `ping: <id>` per message.
    enum Event: Sendable { case bound, ping }

    /// One admitted connection, as the hub knows it.
    struct Ticket: Sendable, Hashable {
        let subscriptionID: String
        let number: UInt64
    }

    /// Why an upgrade is refused.
    enum Refusal: Error, Sendable { case subscriptionFull, serverFull }

    private struct State {
        var nextNumber: UInt64 = 0
        var total = 0
        var perSubscription: [String: Int] = [:]
        var bound: [String: [UInt64: AsyncStream<Event>.Continuation]] = [:]
    }

    private let state = Mutex(State())
    let pseudonyms: TelematikPseudonyms
    public let limits: WebSocketLimits

    init(pseudonyms: TelematikPseudonyms, limits: WebSocketLimits) {
        self.pseudonyms = pseudonyms
        self.limits = limits
    }

    /// Whether a connection to `subscriptionID` would be admitted now (checked before the upgrade is
    /// answered, so a refusal can still be an HTTP status).
    func admits(_ subscriptionID: String) -> Refusal? {
        state.withLock { state in
            if state.total >= limits.maximumConnections { return .serverFull }
            if state.perSubscription[subscriptionID, default: 0] >= limits.maximumPerSubscription { return .subscriptionFull }
            return nil
        }
    }

    /// Counts a connection in; the refusal when it is over a limit.
    func open(_ subscriptionID: String) -> Result<Ticket, Refusal> {
        state.withLock { state in
            if state.total >= limits.maximumConnections { return .failure(.serverFull) }
            if state.perSubscription[subscriptionID, default: 0] >= limits.maximumPerSubscription { return .failure(.subscriptionFull) }
            state.total += 1
            state.perSubscription[subscriptionID, default: 0] += 1
            state.nextNumber += 1
            return .success(Ticket(subscriptionID: subscriptionID, number: state.nextNumber))
        }
    }

    /// From now on, messages for the ticket's subscription are pinged to `events`; `bound` goes
    /// first, through the same buffer, so no ping can overtake it.
    func bind(_ ticket: Ticket, to events: AsyncStream<Event>.Continuation) {
        events.yield(.bound)
        state.withLock { $0.bound[ticket.subscriptionID, default: [:]][ticket.number] = events }
    }

    /// Counts the connection out and stops its pings.
    func close(_ ticket: Ticket) {
        let events = state.withLock { state -> AsyncStream<Event>.Continuation? in
            state.total -= 1
            state.perSubscription[ticket.subscriptionID, default: 1] -= 1
            if state.perSubscription[ticket.subscriptionID] == 0 { state.perSubscription[ticket.subscriptionID] = nil }
            let events = state.bound[ticket.subscriptionID]?.removeValue(forKey: ticket.number)
            if state.bound[ticket.subscriptionID]?.isEmpty == true { state.bound[ticket.subscriptionID] = nil }
            return events
        }
        events?.finish()
    }

    /// Open websockets in all, and bound ones (tests, the benchmark).
    var counts: (open: Int, bound: Int) {
        state.withLock { state in (state.total, state.bound.values.reduce(0) { $0 + $1.count }) }
    }

    /// Pings every bound connection of `recipient`'s subscription; returns at once.
    public func messageArrived(for recipient: TelematikID) async {
        notify(subscriptionID: pseudonyms.pseudonym(of: recipient))
    }

    /// Pings every bound connection of `subscriptionID`; the number pinged.
    @discardableResult
    func notify(subscriptionID: String) -> Int {
        let targets = state.withLock { $0.bound[subscriptionID].map { Array($0.values) } ?? [] }
        for events in targets { events.yield(.ping) }
        return targets.count
    }
}
