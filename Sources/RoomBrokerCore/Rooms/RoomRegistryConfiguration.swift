import ChatWire

/// Limits and sizes of a ``RoomRegistry``.
public struct RoomRegistryConfiguration: Sendable, Codable {
    /// Messages kept per room and sent to a joining member.
    public var historySize: Int = 100
    /// Bytes of messages kept per room (text and name plus overhead; oldest dropped first).
    public var historyByteBudget: Int = 256 << 10
    /// Encoded broadcasts kept per room for gateways that fill a gap.
    public var replaySize: Int = 256
    /// Bytes of encoded broadcasts kept per room.
    public var replayByteBudget: Int = 512 << 10
    /// Bytes of history and replay kept over all rooms together; past it the oldest go first.
    public var memoryBudget: Int = 512 << 20
    /// How long a room with no members lives on, in ms.
    public var emptyRoomGraceMilliseconds: UInt64 = 5 * 60 * 1000
    /// How long a member whose connection dropped is kept as disconnected before `left` is announced,
    /// in ms; a join with its name and the room's password resumes it meanwhile. 0: `left` at once.
    public var sessionGraceMilliseconds: UInt64 = 120 * 1000
    /// Most rooms at once.
    public var maxRooms: Int = 10_000
    /// Most members in one room.
    public var maxMembersPerRoom: Int = 10_000
    /// Most live rooms created by one client address key (IPv4 address or IPv6 /64).
    public var roomsPerClient: Int = 20
    /// Wrong passwords allowed per connection per window.
    public var failuresPerConnection: Int = 5
    /// Wrong passwords allowed per client address key per window, over all its connections and rooms.
    /// There is no per-room limit: it would let anyone lock a room's members out.
    public var failuresPerClient: Int = 20
    /// Rooms one connection may create per window.
    public var createsPerConnection: Int = 10
    /// Rooms one client address key may create per window, over all its connections.
    public var createsPerClient: Int = 30
    /// Rooms created over all clients per second (a burst of ten seconds' worth): past it creations are
    /// refused `rate_limited` for a moment, so no crowd of addresses can churn the broker's rooms. Each
    /// wider prefix of addresses may also create a multiple of ``createsPerClient`` per window: an IPv6
    /// /56 4 ×, an IPv6 /48 or an IPv4 /24 16 ×.
    public var createsPerSecond: Int = 100
    /// The window of the four limits above, in ms.
    public var limitWindowMilliseconds: UInt64 = 60 * 1000
    /// Joins, resumes and creates one client address key may make at once, over all its connections on
    /// every gateway: the size of its token bucket, refilled at ``joinsPerClientPerSecond``.
    ///
    /// A join costs the broker's one thread far more than a message (its ack carries the room's members
    /// and history, up to ~1 MB), so a few hundred connections of one address repeating a ~100-byte join
    /// could saturate a shard. The defaults never bite people: a browser joins each of its rooms once
    /// per connection, so a burst of 60 lets 60 people behind one NAT (an office, a campus) rejoin
    /// together after a gateway restart, and 10 a second (36,000 an hour) is far above what people
    /// behind one address join by hand; a loop from one address gets 10 joins a second, not thousands.
    public var joinBurstPerClient: Int = 60
    /// Tokens a client address key's join bucket gets back per second (``joinBurstPerClient``).
    public var joinsPerClientPerSecond: Int = 10
    /// Members kept disconnected for their session grace over all rooms. Past it the membership that
    /// dropped longest ago leaves at once, whichever room it is in: each room and client address key
    /// is bounded too, and this caps their sum, so many addresses each within their own bounds cannot
    /// fill the broker with members nobody uses (each is a few hundred bytes, and in every snapshot).
    public var maxDisconnectedMembers: Int = 100_000
    /// The rooms this broker owns when rooms are spread over several brokers (`RoomBroker --shard I/N`):
    /// commands about other rooms are refused with `wrong_shard`, and generated names are drawn until
    /// one is this shard's. Both brokers of a pair have the same.
    public var shard: Shard = .whole

    /// The defaults used by `RoomBroker`.
    public init() {}
}

/// A configuration in a snapshot: the fields added after the first snapshot format take their default
/// when absent (a standby of this build loads an earlier build's state, configuration included).
extension RoomRegistryConfiguration {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = Self()
        historySize = try container.decode(Int.self, forKey: .historySize)
        historyByteBudget = try container.decode(Int.self, forKey: .historyByteBudget)
        replaySize = try container.decode(Int.self, forKey: .replaySize)
        replayByteBudget = try container.decode(Int.self, forKey: .replayByteBudget)
        memoryBudget = try container.decode(Int.self, forKey: .memoryBudget)
        emptyRoomGraceMilliseconds = try container.decode(UInt64.self, forKey: .emptyRoomGraceMilliseconds)
        sessionGraceMilliseconds = try container.decode(UInt64.self, forKey: .sessionGraceMilliseconds)
        maxRooms = try container.decode(Int.self, forKey: .maxRooms)
        maxMembersPerRoom = try container.decode(Int.self, forKey: .maxMembersPerRoom)
        roomsPerClient = try container.decode(Int.self, forKey: .roomsPerClient)
        failuresPerConnection = try container.decode(Int.self, forKey: .failuresPerConnection)
        failuresPerClient = try container.decode(Int.self, forKey: .failuresPerClient)
        createsPerConnection = try container.decode(Int.self, forKey: .createsPerConnection)
        createsPerClient = try container.decode(Int.self, forKey: .createsPerClient)
        limitWindowMilliseconds = try container.decode(UInt64.self, forKey: .limitWindowMilliseconds)
        joinBurstPerClient =
            try container.decodeIfPresent(Int.self, forKey: .joinBurstPerClient) ?? defaults.joinBurstPerClient
        joinsPerClientPerSecond =
            try container.decodeIfPresent(Int.self, forKey: .joinsPerClientPerSecond)
            ?? defaults.joinsPerClientPerSecond
        createsPerSecond =
            try container.decodeIfPresent(Int.self, forKey: .createsPerSecond) ?? defaults.createsPerSecond
        maxDisconnectedMembers =
            try container.decodeIfPresent(Int.self, forKey: .maxDisconnectedMembers) ?? defaults.maxDisconnectedMembers
        shard = try container.decode(Shard.self, forKey: .shard)
    }
}
