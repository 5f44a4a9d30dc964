import ChatWire
import SocketIO

/// Every room, member and password of the broker, as plain state driven by commands.
///
/// The registry knows nothing of sockets or encodings: it validates, decides and returns what happened
/// (``JoinResult``, ``DisconnectResult``, the ``RoomEvent``s to broadcast; a refusal is a ``ChatError``
/// that names the limit behind it). Every method takes the time as a ``BrokerClock``, so tests
/// control both clocks; limits and expiry use its monotonic reading, `created` and `ts` its wall one.
///
/// By concern: create, join (with resume tokens) and leave in `+Join`, messages and posts in `+Messages`,
/// the per-address join budget in `+JoinRate`, connection-state recovery and session grace in
/// `+Recovery`, kept bytes, replays and the room list in `+Storage`, the budgets' use in `+Budgets`. Its stored layout is the
/// snapshot's (a standby loads an older build's: fields may go, a new one needs a default).
public struct RoomRegistry: Sendable, Codable {
    /// Most member names a join reply lists (the first ones, in join order); it always gives the count.
    public static let maxMembersInJoinReply = 200
    /// Most rooms one page of the room list holds, and how many a page without a limit holds.
    public static let maxPageSize = 200
    /// Rooms on a page when the request gives no limit.
    public static let defaultPageSize = 100
    /// How often idle rate-limit keys and create keys are purged, ms.
    static let purgeIntervalMilliseconds: UInt64 = 10_000

    /// The sizes and limits in force.
    public let configuration: RoomRegistryConfiguration
    /// The rooms by name.
    public internal(set) var rooms: [String: Room] = [:]
    /// The room names in sorted order, for the paged room list.
    var sortedNames: [String] = []
    /// Rooms each connection is a connected member of, for disconnect clean-up, counted per gateway.
    var memberships = MembershipIndex()
    /// The rooms (sorted) of each Socket.IO session with connection-state recovery, by its private id.
    var roomsBySession: [String: [String]] = [:]
    /// The broker-wide number of the last room event (over all rooms): the offset clients resume from.
    public internal(set) var gseq: UInt64 = 0
    /// Memberships whose connection dropped, in the order they did, until their session grace ends.
    var inGrace = FIFOQueue<GraceEntry>()
    /// Live rooms per creator address key.
    var roomsByCreator: [String: Int] = [:]
    var failuresByConnection: AttemptLimiter
    var failuresByClient: AttemptLimiter
    var createsByConnection: AttemptLimiter
    var createsByClient: AttemptLimiter
    /// Joins, resumes and creates per client address key (``chargeJoin(client:now:)``). Optional in
    /// the stored layout: absent from the snapshots of earlier builds, and then made on first use.
    var joinsByClient: TokenBuckets?
    /// Rooms created per wider prefix (IPv6 /56; IPv6 /48 and IPv4 /24) and over all clients
    /// (`+CreationPrefixes`); nil in a state from a build without them.
    var createsBySite: AttemptLimiter?
    var createsByNetwork: AttemptLimiter?
    var createsInAll: TokenBuckets?
    var createKeys = CreateKeys()
    var ledger = StorageLedger()
    var nextIncarnation: UInt64 = 1
    var lastPurge: UInt64 = 0
    /// An entropy source whose draws a standby can replay (``ReplayableRandom``).
    public var random = ReplayableRandom()

    /// An empty registry.
    public init(configuration: RoomRegistryConfiguration = .init()) {
        self.configuration = configuration
        let window = configuration.limitWindowMilliseconds
        failuresByConnection = AttemptLimiter(limit: configuration.failuresPerConnection, windowMilliseconds: window)
        failuresByClient = AttemptLimiter(limit: configuration.failuresPerClient, windowMilliseconds: window)
        createsByConnection = AttemptLimiter(limit: configuration.createsPerConnection, windowMilliseconds: window)
        createsByClient = AttemptLimiter(limit: configuration.createsPerClient, windowMilliseconds: window)
        joinsByClient = TokenBuckets(
            burst: configuration.joinBurstPerClient,
            perSecond: configuration.joinsPerClientPerSecond
        )
    }

    /// What a successful create returns to the creator.
    public struct CreateResult: Equatable, Sendable {
        /// The room's name.
        public var room: String
        /// Its plaintext password, which is not kept.
        public var password: String
        /// True when this answers a retry with the same idempotency key (a new password for the same,
        /// still empty room: the first was never seen).
        public var repeated: Bool
    }

    /// A membership kept after its connection dropped.
    struct GraceEntry: Sendable, Codable {
        var room: String
        var connection: ConnectionKey
        /// When it dropped, monotonic ms.
        var since: UInt64
    }

    /// What a successful join returns to the joining member.
    public struct JoinResult: Equatable, Sendable {
        /// The joined event (or ``RoomEvent/resumed(room:seq:name:count:connection:)`` when the join took
        /// over a disconnected member), to broadcast to the other members.
        public var event: RoomEvent
        /// The first ``RoomRegistry/maxMembersInJoinReply`` member names after the join, in join order.
        public var members: [String]
        /// How many members the room has after the join.
        public var memberCount: Int
        /// The last messages, oldest first (with `since`: the kept ones numbered after it).
        public var history: [ChatMessage]
        /// With `since`: whether `history` holds every message numbered after it; nil without.
        public var complete: Bool?
        /// True when the connection was a member already under that name (a retried join): nothing
        /// changed and `event` is not to be broadcast; its seq is the room's last.
        public var repeated = false
        /// The member's new resume token, for its client only (the ack's `token`); its hash is kept.
        public var token = ""
        /// The sequence number of the joined event; the member receives every later event.
        public var seq: UInt64 { event.seq }
        /// The `left` of the member disconnected longest ago when the room was full: it made room for
        /// this join (a disconnected member never keeps a newcomer out); broadcast before ``event``.
        public var madeRoom: RoomEvent?
        /// The connection that held the membership until this join took it over while it still looked
        /// connected (with the token, or its gateway gone): it is told it left (``BroadcastKind/takenOver``).
        public var supplanted: ConnectionKey?
    }

    /// Most members one room keeps disconnected for their session grace: 1,000, or half the room's
    /// cap when that is smaller. Past it the one disconnected longest ago leaves, so connections that
    /// join and drop in a loop cannot fill a room with members nobody uses.
    public static func maxDisconnectedMembers(in configuration: RoomRegistryConfiguration) -> Int {
        max(1, min(1_000, configuration.maxMembersPerRoom / 2))
    }

    /// Most members one client address key keeps disconnected in one room: past it, that client's own
    /// member gone longest leaves, so one address that joins and drops in a loop pushes out only its
    /// own, never other people's members waiting to come back.
    public static let maxDisconnectedMembersPerClient = 64

    /// Bytes of history and replay kept over all rooms (bounded by `memoryBudget`).
    public var storedBytes: Int { ledger.totalBytes }

    /// Connected members over all rooms (disconnected ones in their session grace not counted).
    public var connectedMembers: Int { memberships.total }

    /// Connected members by the gateway they are connected through (gateways without any left out).
    public var connectedMembersByGateway: [String: Int] { memberships.countsByGateway }

    /// Members over all rooms, disconnected ones kept for their session grace included: O(rooms).
    public var memberCount: Int { rooms.values.reduce(0) { $0 + $1.members.count } }

    /// What disconnecting a connection (or a whole gateway) did.
    public struct DisconnectResult: Equatable, Sendable {
        /// `left` events to broadcast (members removed at once: no session grace).
        public var events: [RoomEvent] = []
        /// Memberships kept for the session grace (for the log: one line each).
        public var away: [AwayMember] = []
        /// `left` events of members disconnected longest ago that left so the rooms stay within
        /// ``RoomRegistry/maxDisconnectedMembers(in:)`` (to broadcast too).
        public var evicted: [RoomEvent] = []

        /// What a disconnect did: `events` to broadcast, `away` kept for the grace, `evicted` to make room.
        public init(events: [RoomEvent] = [], away: [AwayMember] = [], evicted: [RoomEvent] = []) {
            self.events = events
            self.away = away
            self.evicted = evicted
        }
    }

    /// Mutates room `name` in place (no copy of its members or history), or throws `no_such_room`.
    mutating func update<Result>(
        _ name: String,
        _ body: (inout Room) throws(ChatError) -> Result
    ) throws(ChatError) -> Result {
        guard let index = rooms.index(forKey: name) else { throw noSuchRoom(name) }
        return try body(&rooms.values[index])
    }

    func noSuchRoom(_ room: String) -> ChatError {
        ChatError(.noSuchRoom, "no room named \(room); check the name or create it")
    }

    static func seconds(_ milliseconds: UInt64) -> UInt64 {
        (milliseconds + 999) / 1000
    }
}
