/// Where the broker link hands room events, in order, from its thread.
public protocol BroadcastSink: Sendable {
    /// Delivers a batch of events (each the exact client text of one WebSocket frame) to local members.
    func deliver(_ batch: [RoomBroadcastFrame])
    /// Events of `room` were lost for good, or the room itself (the broker restarted): its local
    /// members are disconnected with `reason` so that their clients reconnect and re-join.
    func resync(room: String, reason: String)
}

/// One room event ready for local members.
public struct RoomBroadcastFrame: Sendable {
    /// The room.
    public var room: String
    /// The event's room sequence number.
    public var seq: UInt64
    /// The exact Engine.IO text the broker encoded.
    public var payload: [UInt8]

    /// Event `seq` of `room` with client text `payload`.
    public init(room: String, seq: UInt64, payload: [UInt8]) {
        self.room = room
        self.seq = seq
        self.payload = payload
    }
}
