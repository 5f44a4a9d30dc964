/// The kind byte of a room broadcast.
public enum BroadcastKind: UInt8, Sendable, CaseIterable {
    /// A chat message.
    case message = 1
    /// A member joined.
    case joined = 2
    /// A member left (by leaving, disconnecting or losing its gateway).
    case left = 3
}
