/// The rooms the gateway follows for its local members: how many follows each has (the first
/// subscribes, the last unsubscribes), which subscriptions the broker confirmed (its head arrived),
/// the joins parked until then, and the heads read from a broker of the pair the link does not follow
/// (applied if it comes to follow it). Plain bookkeeping: ``BrokerLinkState`` acts on it.
struct RoomSubscriptions<Caller> {
    /// Follow counts per room.
    private var follows: [String: Int] = [:]
    /// Followed rooms whose subscription the broker confirmed.
    private var live: Set<String> = []
    /// Joins waiting for their room's subscription to be confirmed, in arrival order.
    private var parked: [String: [HeldCommand<Caller>]] = [:]
    /// Per broker, the last head of each followed room read from it while it was not followed.
    private var unfollowedHeads: [[String: UInt64]]

    /// No rooms, for a link to `brokers` brokers.
    init(brokers: Int) {
        unfollowedHeads = Array(repeating: [:], count: brokers)
    }

    /// The followed rooms, sorted.
    var rooms: [String] { follows.keys.sorted() }

    /// Whether `room` is followed.
    func isFollowed(_ room: String) -> Bool { follows[room] != nil }

    /// Whether `room`'s subscription is confirmed.
    func isLive(_ room: String) -> Bool { live.contains(room) }

    /// The number of joins parked.
    var parkedCount: Int { parked.values.reduce(0) { $0 + $1.count } }

    // MARK: Follows

    /// One more follow of `room`; true for the first (subscribe now).
    mutating func follow(_ room: String) -> Bool {
        follows[room, default: 0] += 1
        return follows[room] == 1
    }

    /// One follow less of `room`; true for the last (unsubscribe now), which also forgets whether the
    /// subscription was confirmed and the heads read for it. False for a room not followed.
    mutating func unfollow(_ room: String) -> Bool {
        guard let count = follows[room] else { return false }
        if count > 1 {
            follows[room] = count - 1
            return false
        }
        follows[room] = nil
        live.remove(room)
        for index in unfollowedHeads.indices { unfollowedHeads[index][room] = nil }
        return true
    }

    /// The broker confirmed `room`'s subscription.
    mutating func confirm(_ room: String) {
        live.insert(room)
    }

    /// `room`'s subscription must be confirmed again (a restarted broker has a new XPUB socket).
    mutating func unconfirm(_ room: String) {
        live.remove(room)
    }

    // MARK: Parked joins

    /// Whether a join of `room` must wait: the room is followed and its subscription not confirmed yet.
    func holdsJoins(of room: String) -> Bool { follows[room] != nil && !live.contains(room) }

    /// Parks a join of `room` until its subscription is confirmed.
    mutating func park(_ join: HeldCommand<Caller>, in room: String) {
        parked[room, default: []].append(join)
    }

    /// Takes `room`'s parked joins, in arrival order.
    mutating func release(_ room: String) -> [HeldCommand<Caller>] {
        parked.removeValue(forKey: room) ?? []
    }

    /// Takes the joins parked for connection `connectionID` (it disconnected), rooms in order.
    mutating func removeParked(of connectionID: UInt64) -> [HeldCommand<Caller>] {
        var removed: [HeldCommand<Caller>] = []
        for room in parked.keys.sorted() {
            guard let waiting = parked[room], waiting.contains(where: { $0.connectionID == connectionID }) else {
                continue
            }
            let kept = waiting.filter { $0.connectionID != connectionID }
            parked[room] = kept.isEmpty ? nil : kept
            removed += waiting.filter { $0.connectionID == connectionID }
        }
        return removed
    }

    /// Takes every parked join (the link is stopping), rooms in order.
    mutating func removeAllParked() -> [HeldCommand<Caller>] {
        let all = parked.keys.sorted().flatMap { parked[$0] ?? [] }
        parked = [:]
        return all
    }

    /// The rooms with a parked join past its deadline at `now`, sorted.
    func overdueRooms(at now: UInt64) -> [String] {
        parked.keys.sorted().filter { parked[$0]?.contains { $0.deadline <= now } == true }
    }

    // MARK: Heads of a broker not followed

    /// A head of followed `room` at `seq` read from `broker`, which the link does not follow.
    mutating func noteHead(of room: String, seq: UInt64, from broker: Int) {
        guard unfollowedHeads.indices.contains(broker) else { return }
        unfollowedHeads[broker][room] = max(unfollowedHeads[broker][room] ?? 0, seq)
    }

    /// Takes the heads noted from `broker` (now followed) of the rooms still followed, by room.
    mutating func takeHeads(from broker: Int) -> [(room: String, seq: UInt64)] {
        guard unfollowedHeads.indices.contains(broker) else { return [] }
        let heads = unfollowedHeads[broker]
        unfollowedHeads[broker] = [:]
        return heads.sorted { $0.key < $1.key }.filter { follows[$0.key] != nil }.map { (room: $0.key, seq: $0.value) }
    }
}
