/// Why the broker link disconnects every local member of a room (their clients then reconnect and
/// join again, learning the room's state afresh from the join ack).
public enum RoomDisconnectReason: Sendable, Equatable {
    /// Events of the room were lost for good (beyond what the broker keeps for replay).
    case eventsLost
    /// The room broker restarted under a new instance id: its rooms are gone, or (read back from its
    /// journal on disk) may lack events this gateway delivered, so members join again.
    case brokerRestarted
    /// The room broker forgot this gateway (it was silent too long, e.g. a stall or a network
    /// partition) and removed its members.
    case gatewayForgotten

    /// The close reason the members' clients see (well under WebSocket's 123-byte limit).
    public func message(room: String) -> String {
        switch self {
        case .eventsLost:
            return "missed events of room \(room); reconnect and join again"
        case .brokerRestarted:
            return "the room broker restarted; join room \(room) again (or create it again if it is gone)"
        case .gatewayForgotten:
            return "the room broker lost contact with this server; reconnect and join room \(room) again"
        }
    }
}
