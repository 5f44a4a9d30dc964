import ChatWire
import Logging
import SocketIO

/// The broker's logic between the sockets and the registry: decodes a gateway's command,
/// applies it to the ``RoomRegistry``, encodes each broadcast once and logs one line per event.
public struct BrokerEngine: Sendable {
    /// The rooms.
    public private(set) var registry: RoomRegistry
    /// The gateways heard from.
    public private(set) var gateways: GatewayTable
    private let logger: Logger
    /// Rooms with events not yet followed by a head, and when their last event was.
    private var unannounced: [String: UInt64] = [:]
    /// How long a room stays quiet before its head is published, ms.
    public static let quietMilliseconds: UInt64 = 500
    /// This broker run's random id, sent in hello and heartbeat replies so gateways notice a restart.
    public let instance: String

    /// An engine over an empty registry.
    public init(configuration: RoomRegistryConfiguration = .init(), gatewayTimeoutMilliseconds: UInt64 = 5_000, logger: Logger) {
        self.registry = RoomRegistry(configuration: configuration)
        self.gateways = GatewayTable(timeoutMilliseconds: gatewayTimeoutMilliseconds)
        self.logger = logger
        self.instance = String(UInt64.random(in: 1...UInt64.max), radix: 36)
    }

    /// Handles one command frame from `gateway` (its ZeroMQ routing id) at `now` (ms).
    public mutating func handle(frame: [UInt8], from gateway: String, now: UInt64) -> BrokerOutput {
        if gateways.touch(gateway, now: now) {
            logger.debug("gateway-up", metadata: ["gateway": "\(gateway)"])
        }
        let command: WireCommand
        do {
            command = try WireCommand.decode(frame)
        } catch {
            logger.warning("bad-frame", metadata: ["gateway": "\(gateway)", "reason": "\(error)"])
            let ids = WireCommand.ids(ofUndecodable: frame)
            let reply = WireReply(
                kind: .invalid, requestID: ids.requestID, connectionID: ids.connectionID,
                result: .failure(ChatError(.badRequest, "malformed command: \(error)")))
            return BrokerOutput(reply: reply)
        }
        let connection = ConnectionKey(gateway: gateway, connectionID: command.connectionID)
        do {
            let output = try apply(command, connection: connection, now: now)
            for broadcast in output.broadcasts { unannounced[broadcast.room] = now }
            return output
        } catch {
            log(refusal: error, of: command, connection: connection)
            return BrokerOutput(reply: WireReply(to: command, result: .failure(error)))
        }
    }

    /// A gateway subscribed to `topic` (seen on the XPUB socket): publish the room's ``BroadcastKind/head``
    /// so the gateway knows its subscription is live.
    public func subscribed(topic: [UInt8]) -> BrokerOutput {
        guard let room = WireFormat.room(ofTopic: topic) else { return BrokerOutput() }
        return BrokerOutput(broadcasts: [head(of: room)])
    }

    private func head(of room: String) -> WireBroadcast {
        WireBroadcast(kind: .head, room: room, seq: registry.rooms[room]?.lastSeq ?? 0, gateway: "", connectionID: 0, payload: [])
    }

    /// Periodic work: drops silent gateways (announcing their members as left) and expires empty rooms.
    public mutating func tick(now: UInt64) -> BrokerOutput {
        var output = BrokerOutput()
        // Rooms quiet for a moment after events get their head published: a gateway that lost the
        // last events (past the high-water mark) sees it behind and replays them.
        let quiet = unannounced.filter { now >= $0.value && now - $0.value >= Self.quietMilliseconds }.keys.sorted()
        for room in quiet {
            unannounced[room] = nil
            if registry.rooms[room] != nil { output.broadcasts.append(head(of: room)) }
        }
        for gateway in gateways.removeSilent(now: now) {
            let events = registry.dropGateway(gateway, now: now)
            logger.warning("gateway-lost", metadata: ["gateway": "\(gateway)", "members": "\(events.count)"])
            output.broadcasts += events.map { broadcast($0, reason: "gateway lost") }
            for event in events { unannounced[event.room] = now }
        }
        for room in registry.expireEmptyRooms(now: now) {
            logger.info("room-expired", metadata: ["room": "\(room)"])
        }
        return output
    }

    private mutating func apply(_ command: WireCommand, connection: ConnectionKey, now: UInt64) throws(ChatError) -> BrokerOutput {
        func success(_ value: WireReply.Success, _ broadcasts: [WireBroadcast] = []) -> BrokerOutput {
            BrokerOutput(reply: WireReply(to: command, result: .success(value)), broadcasts: broadcasts)
        }
        switch command.body {
        case .hello(let gatewayName):
            gateways.name(connection.gateway, gatewayName)
            logger.info("gateway-hello", metadata: ["gateway": "\(connection.gateway)", "name": "\(gatewayName)"])
            return success(.init(room: instance))

        case .heartbeat:
            return success(.init(room: instance))

        case .create(let name, let requestedRoom, _):
            let created = try registry.create(
                requestedRoom: requestedRoom, creatorName: name, by: connection, client: command.client, now: now)
            logger.info("create", metadata: metadata(room: created.room, name: name, connection))
            var json = JSONWriter(capacity: 64)
            json.beginObject()
            json.key("room")
            json.string(created.room)
            json.key("password")
            json.string(created.password)
            json.endObject()
            return success(.init(room: created.room, json: json.bytes))

        case .join(let room, let password, let name):
            let result = try registry.join(room: room, password: password, name: name, by: connection, client: command.client, now: now)
            let joinedRoom = result.event.room
            var json = JSONWriter(capacity: 128 + result.history.count * 96)
            json.beginObject()
            json.key("room")
            json.string(joinedRoom)
            json.key("seq")
            json.uint(result.seq)
            json.key("members")
            json.beginArray()
            for member in result.members { json.string(member) }
            json.endArray()
            json.key("history")
            json.beginArray()
            for message in result.history {
                ServerEventEncoder.writeMessageObject(
                    &json, room: joinedRoom, seq: message.seq, name: message.name, text: message.text,
                    timestamp: Int64(message.timestamp))
            }
            json.endArray()
            json.endObject()
            return success(.init(room: joinedRoom, seq: result.seq, json: json.bytes), [broadcast(result.event)])

        case .leave(let room):
            let event = try registry.leave(room: room, by: connection, now: now)
            var json = JSONWriter(capacity: 48)
            json.beginObject()
            json.key("room")
            json.string(event.room)
            json.endObject()
            return success(.init(room: event.room, seq: event.seq, json: json.bytes), [broadcast(event)])

        case .message(let room, let text, _):
            let event = try registry.message(room: room, text: text, by: connection, now: now)
            return success(.init(room: event.room, seq: event.seq, json: seqJSON(event.seq)), [broadcast(event)])

        case .post(let room, let password, let name, let text, _):
            let event = try registry.post(room: room, password: password, name: name, text: text, by: connection, client: command.client, now: now)
            return success(.init(room: event.room, seq: event.seq, json: seqJSON(event.seq)), [broadcast(event, via: "http")])

        case .listRooms:
            var json = JSONWriter(capacity: 256)
            json.beginObject()
            json.key("rooms")
            json.beginArray()
            for summary in registry.summaries() {
                json.beginObject()
                json.key("room")
                json.string(summary.room)
                json.key("members")
                json.int(Int64(summary.members))
                json.key("created")
                json.uint(summary.created)
                json.endObject()
            }
            json.endArray()
            json.endObject()
            return success(.init(json: json.bytes))

        case .disconnect:
            let events = registry.disconnect(connection, now: now)
            return success(.init(), events.map { broadcast($0, reason: "disconnected") })

        case .replay(let room, let from, let to):
            let kept = try registry.replay(room: room, from: from, to: to)
            logger.debug("replay", metadata: ["room": "\(room)", "reason": "\(from)...\(to)", "gateway": "\(connection.gateway)"])
            return success(.init(room: room, events: kept.map { WireReply.ReplayedEvent(seq: $0.seq, payload: $0.payload) }))
        }
    }

    /// Encodes `event` once, keeps the bytes for replays, logs it, and returns its broadcast.
    private mutating func broadcast(_ event: RoomEvent, reason: String? = nil, via: String? = nil) -> WireBroadcast {
        let wire: WireBroadcast
        switch event {
        case .joined(let room, let seq, let name, let members, let connection):
            logger.info("join", metadata: metadata(room: room, name: name, connection, seq: seq, members: members.count))
            wire = WireBroadcast(
                kind: .joined, room: room, seq: seq, gateway: connection.gateway, connectionID: connection.connectionID,
                payload: ServerEventEncoder.joined(room: room, seq: seq, name: name, members: members))
        case .left(let room, let seq, let name, let members, let connection):
            var fields = metadata(room: room, name: name, connection, seq: seq, members: members.count)
            if let reason { fields["reason"] = "\(reason)" }
            logger.info("leave", metadata: fields)
            wire = WireBroadcast(
                kind: .left, room: room, seq: seq, gateway: connection.gateway, connectionID: connection.connectionID,
                payload: ServerEventEncoder.left(room: room, seq: seq, name: name, members: members))
        case .message(let room, let message, let connection):
            var fields: Logger.Metadata = ["room": "\(room)", "seq": "\(message.seq)", "name": "\(message.name)", "text": "\(Self.preview(message.text))"]
            if let connection {
                fields["gateway"] = "\(connection.gateway)"
                fields["conn"] = "\(connection.connectionID)"
            }
            if let via { fields["reason"] = "\(via)" }
            logger.info("message", metadata: fields)
            wire = WireBroadcast(
                kind: .message, room: room, seq: message.seq, gateway: connection?.gateway ?? "",
                connectionID: connection?.connectionID ?? 0,
                payload: ServerEventEncoder.message(
                    room: room, seq: message.seq, name: message.name, text: message.text, timestamp: Int64(message.timestamp)))
        }
        registry.recordBroadcast(room: wire.room, seq: wire.seq, payload: wire.payload)
        return wire
    }

    private func log(refusal error: ChatError, of command: WireCommand, connection: ConnectionKey) {
        var fields: Logger.Metadata = ["reason": "\(error.code.code)", "gateway": "\(connection.gateway)", "conn": "\(connection.connectionID)"]
        switch command.body {
        case .join(let room, _, let name):
            fields["room"] = "\(room)"
            fields["name"] = "\(name)"
            logger.notice("join-refused", metadata: fields)
        case .create(let name, let room, _):
            fields["room"] = "\(room)"
            fields["name"] = "\(name)"
            logger.notice("create-refused", metadata: fields)
        case .post(let room, _, let name, _, _):
            fields["room"] = "\(room)"
            fields["name"] = "\(name)"
            logger.notice("post-refused", metadata: fields)
        case .leave(let room), .message(let room, _, _), .replay(let room, _, _):
            fields["room"] = "\(room)"
            logger.notice("\(command.body.kind)-refused", metadata: fields)
        case .hello, .heartbeat, .listRooms, .disconnect:
            logger.notice("\(command.body.kind)-refused", metadata: fields)
        }
    }

    private func metadata(room: String, name: String, _ connection: ConnectionKey, seq: UInt64? = nil, members: Int? = nil) -> Logger.Metadata {
        var fields: Logger.Metadata = [
            "room": "\(room)", "name": "\(name)", "gateway": "\(connection.gateway)", "conn": "\(connection.connectionID)",
        ]
        if let seq { fields["seq"] = "\(seq)" }
        if let members { fields["members"] = "\(members)" }
        return fields
    }

    private func seqJSON(_ seq: UInt64) -> [UInt8] {
        var json = JSONWriter(capacity: 24)
        json.beginObject()
        json.key("seq")
        json.uint(seq)
        json.endObject()
        return json.bytes
    }

    /// The first 120 characters of a message for the log line.
    static func preview(_ text: String) -> String {
        text.count <= 120 ? text : String(text.prefix(120)) + "…"
    }
}
