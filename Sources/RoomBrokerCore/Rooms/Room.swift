/// One room's state in the broker: password hash, members in join order, history and sequence.
public struct Room: Sendable {
    /// One member of a room.
    public struct Member: Equatable, Sendable {
        /// Where the member is connected.
        public var connection: ConnectionKey
        /// The member's display name in this room.
        public var name: String
    }

    /// The room's name.
    public let name: String
    /// The salted password hash; the plaintext is never stored.
    let passwordHash: PasswordHash
    /// When it was created, ms since the Unix epoch.
    public let created: UInt64
    /// Members in the order they joined.
    public private(set) var members: [Member] = []
    /// The members' names folded for case-insensitive uniqueness.
    private var foldedNames: Set<String> = []
    /// The last messages, oldest first.
    public private(set) var history: RingBuffer<ChatMessage>
    /// The last encoded broadcasts, for gateways that fill a gap.
    public private(set) var recentBroadcasts: RingBuffer<RecentBroadcast>
    /// The sequence number of the last event; the next event gets `lastSeq + 1`.
    public private(set) var lastSeq: UInt64 = 0
    /// Since when the room has had no members (ms), or nil while it has some.
    public private(set) var emptySince: UInt64?

    /// One encoded broadcast kept for replay.
    public struct RecentBroadcast: Sendable {
        /// Its sequence number.
        public var seq: UInt64
        /// Its exact client text.
        public var payload: [UInt8]
    }

    init(name: String, passwordHash: PasswordHash, created: UInt64, historySize: Int, replaySize: Int) {
        self.name = name
        self.passwordHash = passwordHash
        self.created = created
        self.history = RingBuffer(capacity: historySize)
        self.recentBroadcasts = RingBuffer(capacity: replaySize)
        self.emptySince = created
    }

    /// The display names of the members, in join order.
    public var memberNames: [String] { members.map(\.name) }

    /// The member on `connection`, if any.
    public func member(on connection: ConnectionKey) -> Member? {
        members.first { $0.connection == connection }
    }

    /// Whether `name` is taken in this room (case-insensitively).
    func isNameTaken(_ name: String) -> Bool {
        foldedNames.contains(name.lowercased())
    }

    mutating func nextSeq() -> UInt64 {
        lastSeq += 1
        return lastSeq
    }

    mutating func add(_ member: Member) {
        members.append(member)
        foldedNames.insert(member.name.lowercased())
        emptySince = nil
    }

    mutating func remove(_ connection: ConnectionKey, now: UInt64) -> Member? {
        guard let index = members.firstIndex(where: { $0.connection == connection }) else { return nil }
        let member = members.remove(at: index)
        foldedNames.remove(member.name.lowercased())
        if members.isEmpty { emptySince = now }
        return member
    }

    mutating func appendHistory(_ message: ChatMessage) {
        history.append(message)
    }

    mutating func recordBroadcast(seq: UInt64, payload: [UInt8]) {
        recentBroadcasts.append(RecentBroadcast(seq: seq, payload: payload))
    }
}
