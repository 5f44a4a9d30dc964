import NIOCore

/// One connection's membership of one room on this gateway, owned by its event loop.
final class RoomMembership {
    /// The member's session.
    let session: SocketIOSession
    /// The room.
    let room: String
    /// The join's sequence number once the broker confirmed it; nil while the join is pending.
    var joinSeq: UInt64?
    /// True once the member asked to leave: nothing more is delivered to it.
    var leaving = false
    /// Events that arrived while the join was pending, delivered once `joinSeq` is known.
    var held: [(seq: UInt64, frame: ByteBuffer)] = []

    init(session: SocketIOSession, room: String) {
        self.session = session
        self.room = room
    }
}
