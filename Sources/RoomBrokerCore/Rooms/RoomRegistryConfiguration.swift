/// Limits and sizes of a ``RoomRegistry``.
public struct RoomRegistryConfiguration: Sendable {
    /// Messages kept per room and sent to a joining member.
    public var historySize: Int = 100
    /// Encoded broadcasts kept per room for gateways that fill a gap.
    public var replaySize: Int = 256
    /// How long a room with no members lives on, in ms.
    public var emptyRoomGraceMilliseconds: UInt64 = 5 * 60 * 1000
    /// Most rooms at once.
    public var maxRooms: Int = 10_000
    /// Most members in one room.
    public var maxMembersPerRoom: Int = 10_000
    /// Wrong passwords allowed per connection per window.
    public var failuresPerConnection: Int = 5
    /// Wrong passwords allowed per client address per window, over all its connections and rooms.
    public var failuresPerClient: Int = 20
    /// Wrong passwords allowed per room per window, from all addresses together. Higher than the
    /// per-address limit, so one attacker cannot lock a room's members out.
    public var failuresPerRoom: Int = 100
    /// Rooms one connection may create per window.
    public var createsPerConnection: Int = 10
    /// Rooms one client address may create per window, over all its connections.
    public var createsPerClient: Int = 30
    /// The window of the three limits above, in ms.
    public var limitWindowMilliseconds: UInt64 = 60 * 1000

    /// The defaults used by `RoomBroker`.
    public init() {}
}
