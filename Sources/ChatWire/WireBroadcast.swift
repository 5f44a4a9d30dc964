/// One room event published by the broker: three ZeroMQ frames, topic, header and payload
/// (docs/PROTOCOL.md, "Broadcasts").
public struct WireBroadcast: Equatable, Sendable {
    /// What happened.
    public var kind: BroadcastKind
    /// The room it happened in.
    public var room: String
    /// The room's sequence number of this event.
    public var seq: UInt64
    /// The broker-wide sequence number of this event (0 for a head): one counter over all rooms, the
    /// offset Socket.IO clients resume from (docs/PROTOCOL.md, "Connection-state recovery").
    public var gseq: UInt64
    /// The gateway of the member the event is about (empty for HTTP-posted messages).
    public var gateway: String
    /// That member's connection id on its gateway (0 for HTTP-posted messages).
    public var connectionID: UInt64
    /// The exact text a gateway writes in a WebSocket text frame to each member, e.g. `42["message",{...}]`.
    public var payload: [UInt8]

    /// A broadcast of `payload` as event `seq` of `room`.
    public init(
        kind: BroadcastKind,
        room: String,
        seq: UInt64,
        gseq: UInt64 = 0,
        gateway: String,
        connectionID: UInt64,
        payload: [UInt8]
    ) {
        self.kind = kind
        self.room = room
        self.seq = seq
        self.gseq = gseq
        self.gateway = gateway
        self.connectionID = connectionID
        self.payload = payload
    }

    /// The three frames: the room's topic, the header, the payload.
    public func encoded() -> [[UInt8]] {
        var writer = WireWriter(capacity: 32 + room.utf8.count + gateway.utf8.count)
        writer.write(WireFormat.version)
        writer.write(kind.rawValue)
        writer.write(seq)
        writer.write(gseq)
        writer.write(room)
        writer.write(gateway)
        writer.write(connectionID)
        return [WireFormat.topic(room: room), writer.bytes, payload]
    }

    /// Decodes the three frames of a broadcast.
    public static func decode(_ frames: [[UInt8]]) throws(WireError) -> WireBroadcast {
        guard frames.count == 3 else { throw .wrongFrameCount(expected: 3, actual: frames.count) }
        var reader = try WireReader(frames[1])
        let version = try reader.readByte("version")
        guard version == WireFormat.version else { throw .unsupportedVersion(version) }
        let kindByte = try reader.readByte("kind")
        guard let kind = BroadcastKind(rawValue: kindByte) else { throw .unknownKind(kindByte) }
        let seq = try reader.readUInt64("seq")
        let gseq = try reader.readUInt64("gseq")
        let room = try reader.readString("room")
        let gateway = try reader.readString("gateway")
        let connectionID = try reader.readUInt64("connection id")
        try reader.finish()
        guard frames[0] == WireFormat.topic(room: room) else { throw .topicMismatch }
        return WireBroadcast(
            kind: kind,
            room: room,
            seq: seq,
            gseq: gseq,
            gateway: gateway,
            connectionID: connectionID,
            payload: frames[2]
        )
    }
}
