/// One command from a gateway to the broker: a single ZeroMQ frame (docs/PROTOCOL.md, "Commands").
public struct WireCommand: Equatable, Sendable {
    /// The command and its fields.
    public enum Body: Equatable, Sendable {
        /// A gateway announces itself with a name for the log.
        case hello(gatewayName: String)
        /// A gateway's liveness signal.
        case heartbeat
        /// Create a room for `name`; an empty `room` lets the broker pick one. A repeated `key`
        /// (idempotency key, "" for none) from the same client address is applied once.
        case create(name: String, room: String, key: String)
        /// Join `room` with `password` as `name`; `since`, the last seq the client saw (nil: none), asks
        /// for the messages after it. On the wire `since` is a u64, ``WireCommand/noSince`` for nil.
        /// `pid` is the Socket.IO session's private id with connection-state recovery ("" without): the
        /// member keeps it, so a later ``resume(pid:instance:since:)`` finds it. `token` is the member's
        /// resume token from an earlier join ack ("" for none): with it the join takes the membership of
        /// that name over at once. On the wire it follows `pid` only when not empty (a frame without one
        /// is the same as before tokens).
        case join(
            room: String,
            password: String,
            name: String,
            since: UInt64? = nil,
            pid: String = "",
            token: String = ""
        )
        /// Leave `room`.
        case leave(room: String)
        /// Send `text` to `room` as a member; a repeated `key` (idempotency key, "" for none) in the
        /// same room is applied once.
        case message(room: String, text: String, key: String)
        /// Send `text` to `room` as `name`, proven by `password` (HTTP API); `key` as for `message`.
        case post(room: String, password: String, name: String, text: String, key: String)
        /// List at most `limit` rooms whose names sort after `after` ("" for the first page).
        case listRooms(after: String, limit: UInt32)
        /// The connection is gone.
        case disconnect
        /// Resend the broadcasts of `room` with sequence numbers `from...to`.
        case replay(room: String, from: UInt64, to: UInt64)
        /// Connection-state recovery: move every membership of session `pid` to this connection and
        /// answer the room events after `since` (a broker-wide gseq; nil: the client saw none since its
        /// joins) if all are still kept and `instance` is the broker's state id.
        case resume(pid: String, instance: String, since: UInt64?)
        /// How the broker stands: answered with a ``BrokerStatusReport`` as the reply's JSON.
        case status
        /// The kept messages of `room` numbered before `before`, newest first as many as fit in a reply,
        /// for a member paging back past its join's history.
        case history(room: String, before: UInt64)

        /// The kind byte of this body.
        public var kind: CommandKind {
            switch self {
            case .hello: return .hello
            case .heartbeat: return .heartbeat
            case .create: return .create
            case .join: return .join
            case .leave: return .leave
            case .message: return .message
            case .post: return .post
            case .listRooms: return .listRooms
            case .disconnect: return .disconnect
            case .replay: return .replay
            case .resume: return .resume
            case .status: return .status
            case .history: return .history
            }
        }
    }

    /// The wire value of a join without `since`.
    public static let noSince = UInt64.max

    /// Chosen by the gateway; echoed in the reply so the gateway can match it.
    public var requestID: UInt32
    /// The gateway-local id of the client connection (0 for gateway-level commands).
    public var connectionID: UInt64
    /// The client's address key as the gateway sees it (an IPv4 address, or an IPv6 /64 prefix);
    /// "" when none. The broker limits wrong passwords and room creations per key.
    public var client: String
    /// When the gateway sent the command, on the gateway's ``MonotonicClock`` (ms).
    public var sentAt: UInt64
    /// How long the gateway waits for the reply (ms); the broker drops the command once it has
    /// waited longer than that. 0: no deadline.
    public var ttl: UInt32
    /// What is asked.
    public var body: Body

    /// A command for `connectionID` (from address `client`), matched to its reply by `requestID`.
    public init(
        requestID: UInt32,
        connectionID: UInt64,
        client: String = "",
        sentAt: UInt64 = 0,
        ttl: UInt32 = 0,
        body: Body
    ) {
        self.requestID = requestID
        self.connectionID = connectionID
        self.client = client
        self.sentAt = sentAt
        self.ttl = ttl
        self.body = body
    }

    /// The frame: version, kind, request id, connection id, client address, sent-at, ttl, then the
    /// body's fields.
    public func encoded() -> [UInt8] {
        var writer = WireWriter()
        writer.write(WireFormat.version)
        writer.write(body.kind.rawValue)
        writer.write(requestID)
        writer.write(connectionID)
        writer.write(client)
        writer.write(sentAt)
        writer.write(ttl)
        switch body {
        case .hello(let gatewayName):
            writer.write(gatewayName)
        case .heartbeat, .disconnect, .status:
            break
        case .listRooms(let after, let limit):
            writer.write(after)
            writer.write(limit)
        case .create(let name, let room, let key):
            writer.write(name)
            writer.write(room)
            writer.write(key)
        case .join(let room, let password, let name, let since, let pid, let token):
            writer.write(room)
            writer.write(password)
            writer.write(name)
            writer.write(since ?? Self.noSince)
            writer.write(pid)
            if !token.isEmpty { writer.write(token) }
        case .leave(let room):
            writer.write(room)
        case .message(let room, let text, let key):
            writer.write(room)
            writer.write(text)
            writer.write(key)
        case .post(let room, let password, let name, let text, let key):
            writer.write(room)
            writer.write(password)
            writer.write(name)
            writer.write(text)
            writer.write(key)
        case .replay(let room, let from, let to):
            writer.write(room)
            writer.write(from)
            writer.write(to)
        case .history(let room, let before):
            writer.write(room)
            writer.write(before)
        case .resume(let pid, let instance, let since):
            writer.write(pid)
            writer.write(instance)
            writer.write(since ?? Self.noSince)
        }
        return writer.bytes
    }

    /// The request and connection ids of a frame that may not decode, for answering it anyway:
    /// bytes 2–5 and 6–13 when present, else 0.
    public static func ids(ofUndecodable frame: [UInt8]) -> (requestID: UInt32, connectionID: UInt64) {
        guard frame.count >= 14 else { return (0, 0) }
        var requestID: UInt32 = 0
        for byte in frame[2..<6] { requestID = requestID << 8 | UInt32(byte) }
        var connectionID: UInt64 = 0
        for byte in frame[6..<14] { connectionID = connectionID << 8 | UInt64(byte) }
        return (requestID, connectionID)
    }

    /// Decodes one command frame, refusing any frame that is not exactly one well-formed command.
    public static func decode(_ frame: [UInt8]) throws(WireError) -> WireCommand {
        var reader = try WireReader(frame)
        let version = try reader.readByte("version")
        guard version == WireFormat.version else { throw .unsupportedVersion(version) }
        let kindByte = try reader.readByte("kind")
        guard let kind = CommandKind(rawValue: kindByte), kind != .invalid else { throw .unknownKind(kindByte) }
        let requestID = try reader.readUInt32("request id")
        let connectionID = try reader.readUInt64("connection id")
        let client = try reader.readString("client")
        let sentAt = try reader.readUInt64("sent at")
        let ttl = try reader.readUInt32("ttl")
        let body: Body
        switch kind {
        case .invalid:
            throw .unknownKind(kindByte)
        case .hello:
            body = .hello(gatewayName: try reader.readString("gateway name"))
        case .heartbeat:
            body = .heartbeat
        case .create:
            body = .create(
                name: try reader.readString("name"),
                room: try reader.readString("room"),
                key: try reader.readString("key")
            )
        case .join:
            let room = try reader.readString("room")
            let password = try reader.readString("password")
            let name = try reader.readString("name")
            let since = try reader.readUInt64("since")
            let pid = try reader.readString("pid")
            // Present only when not empty: an empty one written out is not the canonical frame.
            let trailing = reader.remaining
            let token = trailing > 0 ? try reader.readString("token") : ""
            if trailing > 0, token.isEmpty { throw .trailingBytes(count: trailing) }
            body = .join(
                room: room,
                password: password,
                name: name,
                since: since == noSince ? nil : since,
                pid: pid,
                token: token
            )
        case .leave:
            body = .leave(room: try reader.readString("room"))
        case .message:
            body = .message(
                room: try reader.readString("room"),
                text: try reader.readString("text"),
                key: try reader.readString("key")
            )
        case .post:
            body = .post(
                room: try reader.readString("room"),
                password: try reader.readString("password"),
                name: try reader.readString("name"),
                text: try reader.readString("text"),
                key: try reader.readString("key")
            )
        case .listRooms:
            body = .listRooms(after: try reader.readString("after"), limit: try reader.readUInt32("limit"))
        case .disconnect:
            body = .disconnect
        case .replay:
            body = .replay(
                room: try reader.readString("room"),
                from: try reader.readUInt64("from"),
                to: try reader.readUInt64("to")
            )
        case .resume:
            let pid = try reader.readString("pid")
            let instance = try reader.readString("instance")
            let since = try reader.readUInt64("since")
            body = .resume(pid: pid, instance: instance, since: since == noSince ? nil : since)
        case .status:
            body = .status
        case .history:
            body = .history(room: try reader.readString("room"), before: try reader.readUInt64("before"))
        }
        try reader.finish()
        return WireCommand(
            requestID: requestID,
            connectionID: connectionID,
            client: client,
            sentAt: sentAt,
            ttl: ttl,
            body: body
        )
    }
}
