import SocketIO

/// The history of recently joined rooms as the join ack carries it (``EncodedHistory``), so that a join
/// copies bytes instead of encoding every kept message again.
///
/// Derived state, kept by the engine and never in a snapshot: it is brought up to date from the room at
/// each join (the messages the room no longer keeps are dropped, the new ones encoded; a room created
/// again under the same name is told apart by its incarnation), so the ack is byte for byte the one
/// encoded afresh, and a standby, whose cache starts empty, answers the same bytes. Bounded by
/// `byteBudget`: past it the rooms joined least recently are forgotten (their next join encodes again).
struct HistoryCache: Sendable {
    private struct Entry: Sendable {
        var incarnation: UInt64
        var history = EncodedHistory()
        var lastUsed: UInt64
    }

    private var entries: [String: Entry] = [:]
    /// The most bytes kept over all rooms.
    let byteBudget: Int
    /// Bytes kept over all rooms (``EncodedHistory/storedBytes``).
    private(set) var storedBytes = 0
    /// Messages encoded so far: each kept message once, while its room stays cached.
    private(set) var encodedMessages = 0
    private var uses: UInt64 = 0

    /// An empty cache of at most `byteBudget` bytes.
    init(byteBudget: Int) {
        self.byteBudget = byteBudget
    }

    /// Rooms cached.
    var roomCount: Int { entries.count }

    /// The messages cached for `room`, or nil when it is not cached.
    func cachedCount(of room: String) -> Int? {
        entries[room]?.history.count
    }

    /// `room`'s kept history, encoded: the cached one brought up to date.
    mutating func history(of room: Room) -> EncodedHistory {
        uses += 1
        // Taken out while it changes, so that its buffer is not copied.
        var entry = entries.removeValue(forKey: room.name) ?? Entry(incarnation: room.incarnation, lastUsed: uses)
        storedBytes -= entry.history.storedBytes
        if entry.incarnation != room.incarnation { entry = Entry(incarnation: room.incarnation, lastUsed: uses) }
        entry.lastUsed = uses
        let kept = room.history
        // Messages leave a history only from its front, and each seq is one message for good: what is
        // cached before the room's oldest is gone, what is after the cached newest is new.
        let oldest = kept.first?.seq ?? .max
        while let first = entry.history.firstSeq, first < oldest { entry.history.removeFirst() }
        var offset = kept.firstOffset(atOrAfter: (entry.history.lastSeq ?? 0) + 1)
        while let message = kept[offset] {
            entry.history.append(message, room: room.name)
            encodedMessages += 1
            offset += 1
        }
        storedBytes += entry.history.storedBytes
        let history = entry.history
        entries[room.name] = entry
        evictLeastRecentlyUsed(sparing: room.name)
        return history
    }

    /// Forgets `room` (it expired).
    mutating func remove(_ room: String) {
        guard let entry = entries.removeValue(forKey: room) else { return }
        storedBytes -= entry.history.storedBytes
    }

    /// Forgets the rooms joined least recently while over the budget (never `current`).
    private mutating func evictLeastRecentlyUsed(sparing current: String) {
        while storedBytes > byteBudget, entries.count > 1 {
            var oldest: (name: String, used: UInt64)?
            for (name, entry) in entries where name != current && entry.lastUsed < (oldest?.used ?? .max) {
                oldest = (name, entry.lastUsed)
            }
            guard let oldest else { return }
            remove(oldest.name)
        }
    }
}
