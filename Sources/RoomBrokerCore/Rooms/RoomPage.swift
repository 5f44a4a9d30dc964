/// One page of the room list, sorted by room name.
public struct RoomPage: Equatable, Sendable {
    /// The rooms on this page.
    public var rooms: [RoomSummary]
    /// The cursor for the next page (the last room name on this one), or nil when this is the last page.
    public var next: String?

    /// A page of `rooms` followed by `next`.
    public init(rooms: [RoomSummary], next: String?) {
        self.rooms = rooms
        self.next = next
    }
}
