/// Puts each subscribed room's broadcasts in sequence order and finds the gaps that PUB/SUB leaves
/// (the slow joiner, high-water-mark drops). Plain state: ``BrokerLinkState`` drives it.
///
/// For each room the feed knows the next `seq` it expects. Until the first join reply tells it,
/// broadcasts are held. A broadcast above the expected `seq` is held and a replay of the missing
/// range is requested; one below it is a duplicate and dropped. The broker may answer a replay with
/// only a prefix of the range (it bounds each reply's bytes): the feed then asks for the rest, and
/// keeps holding later broadcasts until the gap is filled.
public struct RoomFeed: Sendable {
    /// What the broker link must do next.
    public enum Action: Equatable, Sendable {
        /// Deliver event `seq` (broker-wide `gseq`) of `room` to its local members.
        case deliver(room: String, seq: UInt64, gseq: UInt64 = 0, payload: [UInt8])
        /// Ask the broker to resend `from...to` of `room`.
        case requestReplay(room: String, from: UInt64, to: UInt64)
        /// Events of `room` are lost for good: local members must re-join.
        case resync(room: String)
    }

    /// A held event: its broker-wide number and client text.
    private struct Held: Sendable {
        var gseq: UInt64
        var payload: [UInt8]
    }

    private struct State: Sendable {
        var expected: UInt64?
        var held: [UInt64: Held] = [:]
        /// The range asked for by the replay in flight, if any.
        var replaying: ClosedRange<UInt64>?
        /// The room's last seq as announced by a head, while events up to it are still missing here.
        var announcedTail: UInt64?
    }

    /// Most broadcasts held per room while waiting for a join reply or a replay.
    public let holdLimit: Int
    private var rooms: [String: State] = [:]

    /// An empty feed holding at most `holdLimit` broadcasts per room.
    public init(holdLimit: Int = 10_000) {
        self.holdLimit = holdLimit
    }

    /// Whether `room` is followed.
    public func follows(_ room: String) -> Bool { rooms[room] != nil }

    /// The next `seq` expected for `room`, once known.
    public func expectedSeq(of room: String) -> UInt64? { rooms[room]?.expected }

    /// Whether a replay of `room` is in flight.
    public func isReplaying(_ room: String) -> Bool { rooms[room]?.replaying != nil }

    /// Starts following `room` (its subscription was just made).
    public mutating func follow(_ room: String) {
        if rooms[room] == nil { rooms[room] = State() }
    }

    /// Stops following `room` (no local member is left) and forgets what was held.
    public mutating func forget(_ room: String) {
        rooms[room] = nil
    }

    /// Forgets where a followed `room` stood, as if it had just been followed: the next join reply
    /// sets the numbering again (the broker lost the room, or this gateway's members of it).
    public mutating func reset(_ room: String) {
        if rooms[room] != nil { rooms[room] = State() }
    }

    /// The room's numbering started over (it was deleted and created again under the same name):
    /// drop what was held and expect `seq` next.
    public mutating func restart(_ room: String, expecting seq: UInt64) {
        guard rooms[room] != nil else { return }
        rooms[room] = State(expected: seq)
    }

    /// A join reply said a member joined `room` at `seq`: the feed knows where the room stands.
    public mutating func joined(_ room: String, seq: UInt64) -> [Action] {
        guard var state = rooms[room] else { return [] }
        if state.expected == nil {
            state.expected = seq + 1
            state.held = state.held.filter { $0.key > seq }
            rooms[room] = state
            return drain(room)
        }
        return []
    }

    /// A broadcast arrived.
    public mutating func receive(room: String, seq: UInt64, gseq: UInt64 = 0, payload: [UInt8]) -> [Action] {
        guard var state = rooms[room] else { return [] }
        guard let expected = state.expected else {
            state.held[seq] = Held(gseq: gseq, payload: payload)
            rooms[room] = state
            return state.held.count > holdLimit ? overflow(room) : []
        }
        if seq < expected { return [] }
        if seq == expected, state.held.isEmpty, state.replaying == nil {
            // The fast path: in order, nothing held, no replay in flight.
            state.expected = seq + 1
            if let tail = state.announcedTail, tail <= seq { state.announcedTail = nil }
            rooms[room] = state
            return [.deliver(room: room, seq: seq, gseq: gseq, payload: payload)]
        }
        state.held[seq] = Held(gseq: gseq, payload: payload)
        rooms[room] = state
        if state.held.count > holdLimit { return overflow(room) }
        return drain(room)
    }

    /// The broker announced that `room`'s last event is `lastSeq` (its answer to a new subscription,
    /// or a room that fell quiet). Events up to it were published before the announcement on the same
    /// stream, so any of them still missing is lost: ask for a replay.
    public mutating func announced(room: String, lastSeq: UInt64) -> [Action] {
        guard var state = rooms[room], let expected = state.expected, lastSeq >= expected else { return [] }
        state.announcedTail = max(state.announcedTail ?? 0, lastSeq)
        rooms[room] = state
        return drain(room)
    }

    /// The broker resent events of `room`: all of the range asked for, or a prefix of it. What is
    /// still missing is asked for again; a reply that fills nothing counts as a failed replay.
    public mutating func replayed(room: String, events: [(seq: UInt64, gseq: UInt64, payload: [UInt8])]) -> [Action] {
        guard var state = rooms[room], let range = state.replaying, let expected = state.expected else { return [] }
        state.replaying = nil
        for event in events where range.contains(event.seq) && event.seq >= expected {
            state.held[event.seq] = Held(gseq: event.gseq, payload: event.payload)
        }
        rooms[room] = state
        guard state.held[expected] != nil else { return skipGap(room) }
        return drain(room)
    }

    /// The broker could not resend what `room` is missing.
    public mutating func replayFailed(room: String) -> [Action] {
        guard var state = rooms[room], state.replaying != nil else { return [] }
        state.replaying = nil
        rooms[room] = state
        return skipGap(room)
    }

    /// The replay in flight will not be answered; the next broadcast or head asks again.
    public mutating func abandonReplay(_ room: String) {
        rooms[room]?.replaying = nil
    }

    /// The missing events are gone: members must re-join; the feed moves on past the gap.
    private mutating func skipGap(_ room: String) -> [Action] {
        guard var state = rooms[room] else { return [] }
        if let lowest = state.held.keys.min() {
            state.expected = lowest
        } else if let tail = state.announcedTail, let expected = state.expected, tail >= expected {
            state.expected = tail + 1
        }
        state.announcedTail = nil
        rooms[room] = state
        return [.resync(room: room)] + drain(room)
    }

    /// Delivers the held run that starts at the expected seq; asks for a replay if a gap stays:
    /// up to the lowest held event, or else up to the announced tail.
    private mutating func drain(_ room: String) -> [Action] {
        guard var state = rooms[room], var expected = state.expected else { return [] }
        var actions: [Action] = []
        while let event = state.held.removeValue(forKey: expected) {
            actions.append(.deliver(room: room, seq: expected, gseq: event.gseq, payload: event.payload))
            expected += 1
        }
        state.expected = expected
        if let tail = state.announcedTail, tail < expected { state.announcedTail = nil }
        if state.replaying == nil, let end = state.held.keys.min().map({ $0 - 1 }) ?? state.announcedTail,
            end >= expected
        {
            state.replaying = expected...end
            actions.append(.requestReplay(room: room, from: expected, to: end))
        }
        rooms[room] = state
        return actions
    }

    private mutating func overflow(_ room: String) -> [Action] {
        guard var state = rooms[room] else { return [] }
        let lowest = state.held.keys.min()
        state.held = [:]
        state.replaying = nil
        state.announcedTail = nil
        if state.expected != nil, let lowest { state.expected = lowest }
        rooms[room] = state
        return [.resync(room: room)]
    }
}
