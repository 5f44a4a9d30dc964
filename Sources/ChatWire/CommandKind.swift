/// The kind byte of a gateway command; its reply carries the same byte.
public enum CommandKind: UInt8, Sendable, CaseIterable {
    /// Only in replies: the command frame could not be decoded at all.
    case invalid = 0
    /// A gateway announces itself (at start and after a broker restart).
    case hello = 1
    /// A gateway says it is alive; sent every second.
    case heartbeat = 2
    /// Create a room and get its password.
    case create = 3
    /// Join a room with its password under a display name.
    case join = 4
    /// Leave a room.
    case leave = 5
    /// Send a message to a room the connection is a member of.
    case message = 6
    /// Send a message to a room by its password, without membership (the HTTP API).
    case post = 7
    /// List the rooms for the room picker.
    case listRooms = 8
    /// A client connection is gone: leave every room it was in.
    case disconnect = 9
    /// Resend a room's broadcasts in a sequence range (a gateway filling a gap).
    case replay = 10
    /// Move a Socket.IO session's memberships (by its private id) to this connection and get the events
    /// it missed (connection-state recovery).
    case resume = 11
    /// Ask a broker how it stands (role, term, rooms, gateways, replication) for the gateways' status
    /// page; answered by the standby too, never replicated (docs/PROTOCOL.md, "Status").
    case status = 12
    /// A member pages back through a room's kept history: the messages before a seq.
    case history = 13
}
