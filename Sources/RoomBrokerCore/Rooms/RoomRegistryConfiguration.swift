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
    /// The window of the four limits above, in ms.
    public var limitWindowMilliseconds: UInt64 = 60 * 1000
    /// The rooms this broker owns when rooms are spread over several brokers (`RoomBroker --shard I/N`):
    /// commands about other rooms are refused with `wrong_shard`, and generated names are drawn until
    /// one is this shard's. Both brokers of a pair have the same.
    public var shard: Shard = .whole

    /// The defaults used by `RoomBroker`.
    public init() {}
}
