/// Told, after the commit, that a message for an institution was stored: a DispReq or a
/// ChargChangeReq addressed to a pharmacy's or insurer's Telematik-ID (A_22367-03). The websocket
/// hub pings that Telematik-ID's subscribers.
///
/// A notification is not data (ARCHITECTURE decision 13): it is not written to the outbox, may be
/// lost with the process, and must never fail or hold up the request that stored the message.
public protocol RecipientNotifier: Sendable {
    func messageArrived(for recipient: TelematikID) async
}

/// No subscribers anywhere: the default of a server without a websocket endpoint.
public struct NoRecipientNotifications: RecipientNotifier {
    public init() {}
    public func messageArrived(for recipient: TelematikID) async {}
}
