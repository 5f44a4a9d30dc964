/// The kind byte of a room broadcast.
public enum BroadcastKind: UInt8, Sendable, CaseIterable {
    /// A chat message.
    case message = 1
    /// A member joined.
    case joined = 2
    /// A member left (by leaving, disconnecting or losing its gateway).
    case left = 3
    /// Not a room event: the broker saw a new subscription to the room. `seq` is the room's last
    /// sequence number (0 for no such room) and the payload is empty. A gateway that receives it
    /// knows its subscription is live.
    case subscribed = 4
}
