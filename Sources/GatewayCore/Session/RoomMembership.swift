import NIOCore

/// One connection's membership of one room on this gateway, owned by its event loop and shared by
/// the session (which moves it through its states) and ``LoopRooms`` (which writes to it).
final class RoomMembership {
    /// Where the membership stands.
    enum State {
        /// The join went to the broker and is not answered yet; the room's events that arrive meanwhile
        /// wait here (oldest first) and are written after the join's ack.
        case pending(held: [HeldEvent])
        /// The broker confirmed the join at `joinSeq`: the room's later events are written.
        case active(joinSeq: UInt64)
        /// The member asked to leave: nothing more is written. A refused leave returns to `active`.
        case leaving(joinSeq: UInt64)
        /// Another connection took the membership over (with the member's resume token): nothing more
        /// is written, and the session treats the room as left.
        case takenOver
    }

    /// One room event kept for a pending join: its room sequence number and its complete frame.
    struct HeldEvent {
        var seq: UInt64
        var frame: ByteBuffer
    }

    /// The room.
    let room: String
    /// The connection the fan-out writes the room's events to.
    let recipient: FanOutRecipient
    /// Where the membership stands.
    private(set) var state: State

    init(room: String, recipient: FanOutRecipient, state: State) {
        self.room = room
        self.recipient = recipient
        self.state = state
    }

    /// Confirmed and not leaving: the member may send to the room and leave it.
    var isActive: Bool {
        if case .active = state { return true }
        return false
    }

    /// Taken over by another connection: gone from the room.
    var isTakenOver: Bool {
        if case .takenOver = state { return true }
        return false
    }

    /// Ends the membership because another connection took it over; false when it was not confirmed
    /// (pending: its join's answer decides) or already over.
    func takeOver() -> Bool {
        switch state {
        case .active, .leaving:
            state = .takenOver
            return true
        case .pending, .takenOver:
            return false
        }
    }

    /// Asked to leave and not answered yet: no longer counted as a member.
    var isLeaving: Bool {
        if case .leaving = state { return true }
        return false
    }

    /// Keeps `event` for a pending join; false when the join is not pending or already holds `limit`
    /// events.
    func hold(_ event: @autoclosure () -> HeldEvent, limit: Int) -> Bool {
        guard case .pending(var held) = state, held.count < limit else { return false }
        state = .active(joinSeq: 0)  // Lets go of `held`'s storage so that the append does not copy it.
        held.append(event())
        state = .pending(held: held)
        return true
    }

    /// Confirms a pending join at `joinSeq` and returns the events it held, or nil if it was not pending.
    func activate(joinSeq: UInt64) -> [HeldEvent]? {
        guard case .pending(let held) = state else { return nil }
        state = .active(joinSeq: joinSeq)
        return held
    }

    /// Moves an active membership to `seq`, a later event written to it (a resume's window).
    func advance(to seq: UInt64) {
        guard case .active(let joinSeq) = state, seq > joinSeq else { return }
        state = .active(joinSeq: seq)
    }

    /// Starts leaving; false if the membership is not active.
    func startLeaving() -> Bool {
        guard case .active(let joinSeq) = state else { return false }
        state = .leaving(joinSeq: joinSeq)
        return true
    }

    /// The broker refused the leave: the membership is active again.
    func cancelLeaving() {
        guard case .leaving(let joinSeq) = state else { return }
        state = .active(joinSeq: joinSeq)
    }
}
