/// Puts each subscribed room's broadcasts in sequence order and finds the gaps that PUB/SUB leaves
/// (the slow joiner, high-water-mark drops). Plain state: the broker link drives it on its thread.
///
/// For each room the feed knows the next `seq` it expects. Until the first join reply tells it,
/// broadcasts are held. A broadcast above the expected `seq` is held and a replay of the missing
/// range is requested; one below it is a duplicate and dropped.
public struct RoomFeed: Sendable {
    /// What the broker link must do next.
    public enum Action: Equatable, Sendable {
        /// Deliver event `seq` of `room` to its local members.
        case deliver(room: String, seq: UInt64, payload: [UInt8])
        /// Ask the broker to resend `from...to` of `room`.
        case requestReplay(room: String, from: UInt64, to: UInt64)
        /// Events of `room` are lost for good: local members must re-join.
        case resync(room: String)
    }

    private struct State: Sendable {
        var expected: UInt64?
        var held: [UInt64: [UInt8]] = [:]
        var replayInFlight = false
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

    /// Starts following `room` (its subscription was just made).
    public mutating func follow(_ room: String) {
        if rooms[room] == nil { rooms[room] = State() }
    }

    /// Stops following `room` (no local member is left) and forgets what was held.
    public mutating func forget(_ room: String) {
        rooms[room] = nil
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
    public mutating func receive(room: String, seq: UInt64, payload: [UInt8]) -> [Action] {
        guard var state = rooms[room] else { return [] }
        guard let expected = state.expected else {
            state.held[seq] = payload
            rooms[room] = state
            return state.held.count > holdLimit ? overflow(room) : []
        }
        if seq < expected { return [] }
        if seq == expected {
            state.expected = seq + 1
            rooms[room] = state
            return [.deliver(room: room, seq: seq, payload: payload)] + drain(room)
        }
        state.held[seq] = payload
        rooms[room] = state
        if state.held.count > holdLimit { return overflow(room) }
        return drain(room)
    }

    /// The broker announced that `room`'s last event is `lastSeq` (its answer to a new subscription).
    /// Events up to it were published before the announcement on the same stream, so any of them
    /// still missing is lost: ask for a replay.
    public mutating func announced(room: String, lastSeq: UInt64) -> [Action] {
        guard var state = rooms[room], let expected = state.expected, lastSeq >= expected,
              !state.replayInFlight, state.held.isEmpty
        else { return [] }
        state.replayInFlight = true
        rooms[room] = state
        return [.requestReplay(room: room, from: expected, to: lastSeq)]
    }

    /// The broker resent events of `room`.
    public mutating func replayed(room: String, events: [(seq: UInt64, payload: [UInt8])]) -> [Action] {
        guard var state = rooms[room] else { return [] }
        state.replayInFlight = false
        for event in events where event.seq >= (state.expected ?? 0) {
            state.held[event.seq] = event.payload
        }
        rooms[room] = state
        return drain(room)
    }

    /// The broker could not resend what `room` is missing.
    public mutating func replayFailed(room: String) -> [Action] {
        guard var state = rooms[room] else { return [] }
        state.replayInFlight = false
        if let lowest = state.held.keys.min() { state.expected = lowest }
        rooms[room] = state
        return [.resync(room: room)] + drain(room)
    }

    /// Delivers the held run that starts at the expected seq; asks for a replay if a gap stays.
    private mutating func drain(_ room: String) -> [Action] {
        guard var state = rooms[room], var expected = state.expected else { return [] }
        var actions: [Action] = []
        while let payload = state.held.removeValue(forKey: expected) {
            actions.append(.deliver(room: room, seq: expected, payload: payload))
            expected += 1
        }
        state.expected = expected
        if !state.replayInFlight, let lowest = state.held.keys.min() {
            state.replayInFlight = true
            actions.append(.requestReplay(room: room, from: expected, to: lowest - 1))
        }
        rooms[room] = state
        return actions
    }

    private mutating func overflow(_ room: String) -> [Action] {
        guard var state = rooms[room] else { return [] }
        let lowest = state.held.keys.min()
        state.held = [:]
        state.replayInFlight = false
        if state.expected != nil, let lowest { state.expected = lowest }
        rooms[room] = state
        return [.resync(room: room)]
    }
}
