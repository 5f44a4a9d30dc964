/// Something that happened in a room and must be broadcast to its members.
public enum RoomEvent: Equatable, Sendable {
    /// `name` joined on `connection`; `count` members after the join.
    case joined(room: String, seq: UInt64, name: String, count: Int, connection: ConnectionKey)
    /// The disconnected member `name` was taken over by a join on `connection` (a resume): not a new
    /// arrival; `count` members, unchanged.
    case resumed(room: String, seq: UInt64, name: String, count: Int, connection: ConnectionKey)
    /// `name` left from `connection`; `count` members remain.
    case left(room: String, seq: UInt64, name: String, count: Int, connection: ConnectionKey)
    /// A message, from a member's `connection` or from the HTTP API (nil).
    case message(room: String, message: ChatMessage, connection: ConnectionKey?)

    /// The room the event belongs to.
    public var room: String {
        switch self {
        case .joined(let room, _, _, _, _), .resumed(let room, _, _, _, _), .left(let room, _, _, _, _),
            .message(let room, _, _):
            return room
        }
    }

    /// The name of the member it is about (for a message, its sender's).
    public var name: String {
        switch self {
        case .joined(_, _, let name, _, _), .resumed(_, _, let name, _, _), .left(_, _, let name, _, _): return name
        case .message(_, let message, _): return message.name
        }
    }

    /// The event's sequence number in its room.
    public var seq: UInt64 {
        switch self {
        case .joined(_, let seq, _, _, _), .resumed(_, let seq, _, _, _), .left(_, let seq, _, _, _): return seq
        case .message(_, let message, _): return message.seq
        }
    }
}
