/// The result of a `message` or `post`: a new event to broadcast, or the seq a retry with the same
/// idempotency key was given the first time (nothing is broadcast again).
public enum MessageOutcome: Equatable, Sendable {
    /// A new message.
    case new(RoomEvent)
    /// A repeat of the message numbered `seq` in `room`.
    case repeated(room: String, seq: UInt64)

    /// The room.
    public var room: String {
        switch self {
        case .new(let event): return event.room
        case .repeated(let room, _): return room
        }
    }

    /// The message's seq.
    public var seq: UInt64 {
        switch self {
        case .new(let event): return event.seq
        case .repeated(_, let seq): return seq
        }
    }
}
