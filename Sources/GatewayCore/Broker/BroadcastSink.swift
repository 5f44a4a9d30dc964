/// Where the broker link hands room events, in order, from its thread.
public protocol BroadcastSink: Sendable {
    /// Delivers a batch of events (each the exact client text of one WebSocket frame) to local members.
    func deliver(_ batch: [RoomBroadcastFrame])
    /// Disconnects the local members of `room` with `reason`, so that their clients reconnect and
    /// join again.
    func disconnectMembers(of room: String, reason: RoomDisconnectReason)
    /// The membership of `room` of the local connection `connectionID` was taken over by another
    /// connection (with the member's resume token): write `payload` (a `removed` event) to it alone and
    /// nothing more of the room.
    func takeOver(room: String, connectionID: UInt64, payload: [UInt8])
    /// True while the receivers are behind (too many delivered batches not yet written): the link
    /// stops reading broadcasts until they catch up, so ZeroMQ's high-water marks bound the backlog
    /// and the gaps are replayed later.
    var isBacklogged: Bool { get }
}

/// One room event ready for local members.
public struct RoomBroadcastFrame: Sendable, Equatable {
    /// The room.
    public var room: String
    /// The event's room sequence number.
    public var seq: UInt64
    /// The event's broker-wide sequence number (0 when unknown).
    public var gseq: UInt64
    /// The broker state it was numbered in (its instance id; "" when unknown). With `gseq`, the
    /// Socket.IO offset `"<instance>.<gseq>"` of connection-state recovery.
    public var instance: String
    /// The exact Engine.IO text the broker encoded.
    public var payload: [UInt8]

    /// Event `seq` (broker-wide `gseq` of broker state `instance`) of `room` with client text `payload`.
    public init(room: String, seq: UInt64, gseq: UInt64 = 0, instance: String = "", payload: [UInt8]) {
        self.room = room
        self.seq = seq
        self.gseq = gseq
        self.instance = instance
        self.payload = payload
    }
}
