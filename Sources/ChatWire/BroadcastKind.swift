/// The kind byte of a room broadcast.
public enum BroadcastKind: UInt8, Sendable, CaseIterable {
    /// A chat message.
    case message = 1
    /// A member joined.
    case joined = 2
    /// A member left (by leaving, disconnecting or losing its gateway).
    case left = 3
    /// Not a room event but the room's head: its last sequence number (0 for no such room), with an
    /// empty payload. Published when a gateway subscribes to the room (so it knows its subscription
    /// is live) and when the room falls quiet after events (so gateways notice a lost tail).
    case head = 4
    /// Not a room event either: the membership of the member on `gateway`/`connectionId` was taken over
    /// by another connection with its resume token. Only that gateway acts on it: it writes the
    /// payload (a `removed` event) to that connection alone and stops writing the room to it. Its
    /// `seq` is the room's last; other gateways ignore it.
    case takenOver = 5
}
