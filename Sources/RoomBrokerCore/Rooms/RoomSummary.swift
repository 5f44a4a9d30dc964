/// What the room picker shows of a room: never its password.
public struct RoomSummary: Equatable, Sendable {
    /// The room's name.
    public var room: String
    /// How many members it has.
    public var members: Int
    /// When it was created, ms since the Unix epoch.
    public var created: UInt64

    /// A summary of `room`.
    public init(room: String, members: Int, created: UInt64) {
        self.room = room
        self.members = members
        self.created = created
    }
}
