import ChatWire

/// What a successful ``RoomRegistry/resume(pid:since:by:now:maxBytes:)`` returns: the rooms of the
/// session, the `resumed` events to broadcast, and the events its client missed.
public struct ResumeResult: Equatable, Sendable {
    /// The session's rooms, sorted by name.
    public var rooms: [WireReply.RoomPosition]
    /// The `resumed` events (one per room whose member moved to this connection), sorted by room.
    public var events: [RoomEvent]
    /// The kept broadcasts of those rooms the client missed, in broker-wide (gseq) order.
    public var missed: [Room.RecentBroadcast]
    /// By room, the connection that still held the membership (it looked connected) when the resume
    /// moved it: it is told it left (``BroadcastKind/takenOver``).
    public var supplanted: [String: ConnectionKey] = [:]
}
