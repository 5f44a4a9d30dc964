/// The broker's answer to one ``WireCommand``: a single ZeroMQ frame (docs/PROTOCOL.md, "Replies").
public struct WireReply: Equatable, Sendable {
    /// One broadcast resent by a replay or a resume.
    public struct ReplayedEvent: Equatable, Sendable {
        /// The event's room sequence number.
        public var seq: UInt64
        /// The event's broker-wide sequence number (see ``WireBroadcast/gseq``).
        public var gseq: UInt64
        /// The exact client frame text of the event.
        public var payload: [UInt8]

        /// An event numbered `seq` (`gseq` over all rooms) whose client text is `payload`.
        public init(seq: UInt64, gseq: UInt64 = 0, payload: [UInt8]) {
            self.seq = seq
            self.gseq = gseq
            self.payload = payload
        }
    }

    /// Where a room stands for a resumed session: its `resumed` event's seq (the member receives
    /// every later event of the room).
    public struct RoomPosition: Equatable, Sendable, Codable {
        /// The room.
        public var room: String
        /// The seq of the session's `resumed` event in it.
        public var seq: UInt64

        /// Room `room` at `seq`.
        public init(room: String, seq: UInt64) {
            self.room = room
            self.seq = seq
        }
    }

    /// What a successful command produced. Fields that do not apply to a kind are empty or 0.
    public struct Success: Equatable, Sendable {
        /// The room the command acted on (the new room for `create`).
        public var room: String
        /// For `hello`, `heartbeat` and `resume`: the id of the broker's state (see `BrokerEngine.instance`).
        public var instance: String
        /// For `hello` and `heartbeat`: the pair's fencing term the broker serves in (1 alone).
        public var term: UInt64
        /// The sequence number of the event the command caused (`join`: the joined event;
        /// `message`/`post`: the message; `leave`: the left event).
        public var seq: UInt64
        /// The JSON object the client is answered with: the Socket.IO ack argument and the HTTP body.
        public var json: [UInt8]
        /// For `replay`: the resent events, in order; for `resume`: the missed events of every room, in
        /// gseq order.
        public var events: [ReplayedEvent]
        /// For `resume`: the session's rooms (sorted by name) and where each stands.
        public var rooms: [RoomPosition]

        /// A success result.
        public init(
            room: String = "",
            seq: UInt64 = 0,
            json: [UInt8] = Array("{}".utf8),
            events: [ReplayedEvent] = [],
            rooms: [RoomPosition] = [],
            instance: String = "",
            term: UInt64 = 0
        ) {
            self.room = room
            self.instance = instance
            self.term = term
            self.seq = seq
            self.json = json
            self.events = events
            self.rooms = rooms
        }
    }

    /// The kind of the command answered.
    public var kind: CommandKind
    /// The command's request id.
    public var requestID: UInt32
    /// The command's connection id.
    public var connectionID: UInt64
    /// Success, or the refusal.
    public var result: Result<Success, ChatError>

    /// A reply to the command `kind`/`requestID`/`connectionID`.
    public init(kind: CommandKind, requestID: UInt32, connectionID: UInt64, result: Result<Success, ChatError>) {
        self.kind = kind
        self.requestID = requestID
        self.connectionID = connectionID
        self.result = result
    }

    /// A reply to `command`.
    public init(to command: WireCommand, result: Result<Success, ChatError>) {
        self.init(
            kind: command.body.kind,
            requestID: command.requestID,
            connectionID: command.connectionID,
            result: result
        )
    }

    /// The frame: version, kind, request id, connection id, status, then success fields (room, seq, json,
    /// events, rooms, instance, term) or the message.
    public func encoded() -> [UInt8] {
        var writer = WireWriter()
        writer.write(WireFormat.version)
        writer.write(kind.rawValue)
        writer.write(requestID)
        writer.write(connectionID)
        switch result {
        case .success(let success):
            writer.write(UInt8(0))
            writer.write(success.room)
            writer.write(success.seq)
            writer.write(blob: success.json)
            writer.write(UInt32(success.events.count))
            for event in success.events {
                writer.write(event.seq)
                writer.write(event.gseq)
                writer.write(blob: event.payload)
            }
            writer.write(UInt32(success.rooms.count))
            for position in success.rooms {
                writer.write(position.room)
                writer.write(position.seq)
            }
            writer.write(success.instance)
            writer.write(success.term)
        case .failure(let error):
            writer.write(error.code.rawValue)
            writer.write(error.message)
        }
        return writer.bytes
    }

    /// Decodes one reply frame.
    public static func decode(_ frame: [UInt8]) throws(WireError) -> WireReply {
        var reader = try WireReader(frame)
        let version = try reader.readByte("version")
        guard version == WireFormat.version else { throw .unsupportedVersion(version) }
        let kindByte = try reader.readByte("kind")
        guard let kind = CommandKind(rawValue: kindByte) else { throw .unknownKind(kindByte) }
        let requestID = try reader.readUInt32("request id")
        let connectionID = try reader.readUInt64("connection id")
        let status = try reader.readByte("status")
        let result: Result<Success, ChatError>
        if status == 0 {
            let room = try reader.readString("room")
            let seq = try reader.readUInt64("seq")
            let json = try reader.readBlob("json")
            let count = Int(try reader.readUInt32("event count"))
            // Each event takes at least 20 bytes, each room 12: refuse counts the frame cannot hold.
            guard count <= reader.remaining / 20 else { throw .truncated(field: "events") }
            var events: [ReplayedEvent] = []
            events.reserveCapacity(count)
            for _ in 0..<count {
                events.append(
                    ReplayedEvent(
                        seq: try reader.readUInt64("event seq"),
                        gseq: try reader.readUInt64("event gseq"),
                        payload: try reader.readBlob("event payload")
                    )
                )
            }
            let roomCount = Int(try reader.readUInt32("room count"))
            guard roomCount <= reader.remaining / 12 else { throw .truncated(field: "rooms") }
            var rooms: [RoomPosition] = []
            rooms.reserveCapacity(roomCount)
            for _ in 0..<roomCount {
                rooms.append(RoomPosition(room: try reader.readString("room"), seq: try reader.readUInt64("room seq")))
            }
            let instance = try reader.readString("instance")
            let term = try reader.readUInt64("term")
            result = .success(
                Success(room: room, seq: seq, json: json, events: events, rooms: rooms, instance: instance, term: term)
            )
        } else {
            guard let code = ChatErrorCode(rawValue: status) else { throw .unknownErrorCode(status) }
            result = .failure(ChatError(code, try reader.readString("message")))
        }
        try reader.finish()
        return WireReply(kind: kind, requestID: requestID, connectionID: connectionID, result: result)
    }
}
