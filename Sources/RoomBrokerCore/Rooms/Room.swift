import ChatWire

/// One room's state in the broker: password hash, members in join order, history and sequence.
public struct Room: Sendable, Codable {
    /// One member of a room.
    public struct Member: Equatable, Sendable, Codable {
        /// Where the member is connected.
        public var connection: ConnectionKey
        /// The member's display name in this room (fixed: ``nameKey`` is derived from it).
        public let name: String
        /// Since when its connection is gone (monotonic ms), or nil while connected. A disconnected
        /// member keeps its name and still counts until its session grace ends or it is replaced.
        public var disconnectedSince: UInt64?
        /// The private id of the Socket.IO session it belongs to ("" without connection-state recovery).
        public var pid: String
        /// The seq of the event that gave the membership to `pid` (a join, or a resume by name): its
        /// client learnt the room up to it from the join ack.
        public var joinSeq: UInt64
        /// The seqs of the `resumed` events of its resumes by `pid` (at most ``Room/maxOwnResumes``, the
        /// newest): never replayed to its own client.
        public var ownResumes: [UInt64]
        /// `name` as compared for uniqueness (``FieldValidator/nameKey(_:)``), computed once: looking a
        /// name up then costs comparisons, not a normalisation of every member's name.
        public let nameKey: String
        /// The address key of the client that joined or took it over ("" when unknown): a client's
        /// disconnected members are bounded per room (``RoomRegistry/maxDisconnectedMembersPerClient``).
        public var client: String
        /// The hash of the member's resume token (nil: none given yet, or from an earlier build).
        public var token: ResumeToken?

        /// A connected member.
        public init(
            connection: ConnectionKey,
            name: String,
            disconnectedSince: UInt64? = nil,
            pid: String = "",
            joinSeq: UInt64 = 0,
            ownResumes: [UInt64] = [],
            client: String = "",
            token: ResumeToken? = nil
        ) {
            self.connection = connection
            self.name = name
            self.disconnectedSince = disconnectedSince
            self.pid = pid
            self.joinSeq = joinSeq
            self.ownResumes = ownResumes
            self.nameKey = FieldValidator.nameKey(name)
            self.client = client
            self.token = token
        }
    }

    /// One encoded broadcast kept for replay.
    public struct RecentBroadcast: Equatable, Sendable, Codable, BudgetedElement {
        /// Its sequence number.
        public var seq: UInt64
        /// Its broker-wide sequence number.
        public var gseq: UInt64
        /// Its exact client text.
        public var payload: [UInt8]
        /// The payload plus a fixed overhead.
        public var byteCount: Int { payload.count + 32 }
        /// The broker-wide number, so the queue remembers the newest one it dropped.
        public var globalSeq: UInt64 { gseq }
    }

    /// The two byte-budgeted stores of a room.
    public enum Store: Sendable, Codable {
        /// The last messages, sent to joining members.
        case history
        /// The last encoded broadcasts, for gateways that fill a gap.
        case replay
    }

    /// The room's name.
    public let name: String
    /// Distinguishes this room from an earlier one of the same name (expired, then created again).
    public let incarnation: UInt64
    /// The address key of the client that created it ("" when unknown), for the per-address room cap.
    public let creator: String
    /// The salted password hash; the plaintext is never stored.
    private(set) var passwordHash: PasswordHash
    /// When it was created, ms since the Unix epoch (wall clock).
    public let created: UInt64
    /// Members in the order they joined.
    public private(set) var members: [Member] = []
    /// Each connected member's name by connection, for the lookup every message makes.
    private var names: [ConnectionKey: String] = [:]
    /// Each member's position by its name as compared for uniqueness (``FieldValidator/nameKey(_:)``):
    /// derived from `members`, not in a snapshot (``init(from:)`` rebuilds it).
    private var nameIndex = NameIndex()
    /// The last messages, oldest first.
    public private(set) var history: BudgetedQueue<ChatMessage>
    /// The last encoded broadcasts, for gateways that fill a gap.
    public private(set) var recentBroadcasts: BudgetedQueue<RecentBroadcast>
    /// The idempotency keys of the last minute's messages (at most 1,024).
    public private(set) var messageKeys = RecentKeys()
    /// The sequence number of the last event; the next event gets `lastSeq + 1`.
    public private(set) var lastSeq: UInt64 = 0
    /// Since when the room has had no members (monotonic ms), or nil while it has some.
    public private(set) var emptySince: UInt64?

    init(
        name: String,
        incarnation: UInt64,
        creator: String,
        passwordHash: PasswordHash,
        now: BrokerClock,
        configuration: RoomRegistryConfiguration
    ) {
        self.name = name
        self.incarnation = incarnation
        self.creator = creator
        self.passwordHash = passwordHash
        self.created = now.wall
        self.history = BudgetedQueue(capacity: configuration.historySize, byteBudget: configuration.historyByteBudget)
        self.recentBroadcasts = BudgetedQueue(
            capacity: configuration.replaySize,
            byteBudget: configuration.replayByteBudget
        )
        self.emptySince = now.monotonic
    }

    /// The display names of the first `limit` members, in join order.
    public func memberNames(limit: Int = .max) -> [String] {
        members.prefix(limit).map(\.name)
    }

    /// The highest seq of a message dropped from the history (0 while none was).
    public var lastDroppedMessageSeq: UInt64 { history.lastDroppedSeq }

    /// The name of the connected member on `connection`, if any.
    public func memberName(on connection: ConnectionKey) -> String? {
        names[connection]
    }

    /// Whether a member's name has the name key `key` (``FieldValidator/nameKey(_:)``: NFKC and case
    /// folding).
    func isNameTaken(key: String) -> Bool {
        nameIndex.contains(key)
    }

    /// Elements kept in history and replay together, and their bytes.
    var stored: (count: Int, bytes: Int) {
        (history.count + recentBroadcasts.count, history.bytes + recentBroadcasts.bytes)
    }

    mutating func nextSeq() -> UInt64 {
        lastSeq += 1
        return lastSeq
    }

    mutating func replacePassword(_ hash: PasswordHash) {
        passwordHash = hash
    }

    mutating func add(_ member: Member) {
        members.append(member)
        names[member.connection] = member.name
        nameIndex.added(member.nameKey, at: members.count - 1)
        emptySince = nil
    }

    /// The index of the disconnected member whose name key is `key`, if any (O(1): ``NameIndex``).
    mutating func disconnectedMember(key: String) -> Int? {
        nameIndex.position(of: key, in: members).flatMap { members[$0].disconnectedSince == nil ? nil : $0 }
    }

    /// The index of the connected member whose name key is `key`, if any (O(1): ``NameIndex``).
    mutating func connectedMember(key: String) -> Int? {
        nameIndex.position(of: key, in: members).flatMap { members[$0].disconnectedSince == nil ? $0 : nil }
    }

    /// Marks the connected member on `connection` disconnected at `now`; it keeps its name and place.
    mutating func markDisconnected(_ connection: ConnectionKey, now: UInt64) -> Member? {
        guard names.removeValue(forKey: connection) != nil,
            let index = members.firstIndex(where: { $0.connection == connection && $0.disconnectedSince == nil })
        else { return nil }
        members[index].disconnectedSince = now
        return members[index]
    }

    /// Hands the disconnected member at `index` to `connection` from address key `client` (a resume);
    /// returns its old connection.
    mutating func replace(at index: Int, with connection: ConnectionKey, client: String) -> ConnectionKey {
        members[index].client = client
        return replace(at: index, with: connection)
    }

    /// Hands the disconnected member at `index` to `connection` (a resume); returns its old connection.
    mutating func replace(at index: Int, with connection: ConnectionKey) -> ConnectionKey {
        let old = members[index].connection
        members[index].connection = connection
        members[index].disconnectedSince = nil
        names[connection] = members[index].name
        return old
    }

    /// The index of the member of Socket.IO session `pid` (not empty).
    func member(ofSession pid: String) -> Int? {
        members.firstIndex { $0.pid == pid }
    }

    /// Most `resumed` events of one member that are remembered so as not to replay them to it.
    static let maxOwnResumes = 32

    /// Moves the member at `index`, disconnected or still on an old connection, to `connection` (a
    /// resume by its session's pid) by the `resumed` event `seq`; returns its old connection.
    mutating func move(at index: Int, to connection: ConnectionKey, seq: UInt64) -> ConnectionKey {
        let old = members[index].connection
        if members[index].disconnectedSince == nil { names.removeValue(forKey: old) }
        // Only resumes whose event is still kept for replay matter.
        let dropped = recentBroadcasts.lastDroppedSeq
        members[index].ownResumes.removeAll { $0 <= dropped }
        members[index].ownResumes.append(seq)
        if members[index].ownResumes.count > Self.maxOwnResumes { members[index].ownResumes.removeFirst() }
        _ = replace(at: index, with: connection)
        return old
    }

    /// Keeps `token` as the hash of the member at `index`'s resume token (the one its last join ack gave).
    mutating func setToken(_ token: ResumeToken, at index: Int) {
        members[index].token = token
    }

    /// Gives the member at `index` to session `pid` (a resume by name) at event `seq`.
    mutating func attach(at index: Int, pid: String, seq: UInt64) {
        members[index].pid = pid
        members[index].joinSeq = seq
        members[index].ownResumes = []
    }

    /// Removes the member still disconnected on `connection` since at most `before` (its grace ended).
    mutating func removeDisconnected(_ connection: ConnectionKey, before: UInt64, now: UInt64) -> Member? {
        guard
            let index = members.firstIndex(where: {
                $0.connection == connection && $0.disconnectedSince.map { $0 <= before } == true
            })
        else { return nil }
        return removeMember(at: index, now: now)
    }

    /// Members whose connection is gone, kept for their session grace (an O(members) count).
    var disconnectedCount: Int { members.reduce(0) { $1.disconnectedSince == nil ? $0 : $0 + 1 } }

    /// Disconnected members of address key `client` (an O(members) count).
    func disconnectedCount(of client: String) -> Int {
        members.reduce(0) { $1.disconnectedSince != nil && $1.client == client ? $0 + 1 : $0 }
    }

    /// Removes the member disconnected longest ago (of address key `client` when given), if any: room
    /// for a newcomer, or the room's (or a client's) disconnected members kept within their bound
    /// (``RoomRegistry/maxDisconnectedMembers(in:)``).
    mutating func removeOldestDisconnected(of client: String? = nil, now: UInt64) -> Member? {
        var oldest: Int?
        for (index, member) in members.enumerated() {
            guard let since = member.disconnectedSince, client == nil || member.client == client else { continue }
            if let current = oldest, let best = members[current].disconnectedSince, best <= since { continue }
            oldest = index
        }
        return oldest.map { removeMember(at: $0, now: now) }
    }

    mutating func remove(_ connection: ConnectionKey, now: UInt64) -> Member? {
        guard names.removeValue(forKey: connection) != nil,
            let index = members.firstIndex(where: { $0.connection == connection && $0.disconnectedSince == nil })
        else { return nil }
        return removeMember(at: index, now: now)
    }

    private mutating func removeMember(at index: Int, now: UInt64) -> Member {
        let member = members.remove(at: index)
        nameIndex.removed(member.nameKey, at: index)
        if members.isEmpty { emptySince = now }
        return member
    }

    mutating func appendHistory(_ message: ChatMessage) -> BudgetedQueue<ChatMessage>.Released {
        history.append(message)
    }

    mutating func recordBroadcast(
        seq: UInt64,
        gseq: UInt64,
        payload: [UInt8]
    ) -> BudgetedQueue<RecentBroadcast>.Released {
        recentBroadcasts.append(RecentBroadcast(seq: seq, gseq: gseq, payload: payload))
    }

    /// The kept broadcasts the client of the member at `index` missed: numbered after its `joinSeq` in
    /// the room and after `since` over all rooms, but for its own `resumed` events. Nil when one of them
    /// is no longer kept.
    func missed(by index: Int, since: UInt64) -> [RecentBroadcast]? {
        let member = members[index]
        let kept = recentBroadcasts
        // Everything dropped is numbered up to lastDroppedSeq (drops leave from the front).
        guard kept.lastDroppedSeq <= member.joinSeq || kept.lastDroppedGlobalSeq <= since else { return nil }
        var events: [RecentBroadcast] = []
        var offset = kept.firstOffset(atOrAfter: member.joinSeq + 1)
        while let event = kept[offset] {
            if event.gseq > since, !member.ownResumes.contains(event.seq) { events.append(event) }
            offset += 1
        }
        return events
    }

    mutating func recordKey(_ key: String, seq: UInt64, now: UInt64) {
        messageKeys.record(key, seq: seq, now: now)
    }

    /// Forgets idempotency keys past their retention (``RecentKeys``).
    mutating func expireKeys(now: UInt64) {
        guard !messageKeys.isEmpty else { return }
        messageKeys.expire(now: now)
    }

    /// Drops the oldest element of `store` if it is numbered `seq`; returns its bytes, or nil when
    /// that element is no longer kept.
    mutating func dropOldest(of store: Store, ifSeq seq: UInt64) -> Int? {
        switch store {
        case .history:
            guard history.first?.seq == seq else { return nil }
            return history.removeFirst()?.byteCount
        case .replay:
            guard recentBroadcasts.first?.seq == seq else { return nil }
            return recentBroadcasts.removeFirst()?.byteCount
        }
    }

    /// Whether element `seq` of `store` is still kept (elements leave only from the front).
    func keeps(_ store: Store, seq: UInt64) -> Bool {
        switch store {
        case .history: return history.first.map { $0.seq <= seq } ?? false
        case .replay: return recentBroadcasts.first.map { $0.seq <= seq } ?? false
        }
    }
}

/// A room in a snapshot: every stored property but the name index, which is rebuilt from the members
/// (the snapshots of earlier builds hold a set of name keys instead, which is skipped).
extension Room {
    private enum CodingKeys: String, CodingKey {
        case name
        case incarnation
        case creator
        case passwordHash
        case created
        case members
        case names
        case history
        case recentBroadcasts
        case messageKeys
        case lastSeq
        case emptySince
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        incarnation = try container.decode(UInt64.self, forKey: .incarnation)
        creator = try container.decode(String.self, forKey: .creator)
        passwordHash = try container.decode(PasswordHash.self, forKey: .passwordHash)
        created = try container.decode(UInt64.self, forKey: .created)
        members = try container.decode([Member].self, forKey: .members)
        names = try container.decode([ConnectionKey: String].self, forKey: .names)
        history = try container.decode(BudgetedQueue<ChatMessage>.self, forKey: .history)
        recentBroadcasts = try container.decode(BudgetedQueue<RecentBroadcast>.self, forKey: .recentBroadcasts)
        messageKeys = try container.decode(RecentKeys.self, forKey: .messageKeys)
        lastSeq = try container.decode(UInt64.self, forKey: .lastSeq)
        emptySince = try container.decodeIfPresent(UInt64.self, forKey: .emptySince)
        nameIndex = NameIndex(members)
    }
}
