import ChatLogging
import ChatWire
import Logging
import SocketIO

/// The broker's logic between the sockets and the registry: decodes a gateway's command,
/// applies it to the ``RoomRegistry``, encodes each broadcast once and logs one line per event.
public struct BrokerEngine: Sendable {
    /// The rooms.
    public private(set) var registry: RoomRegistry
    /// The gateways that said hello and have not gone silent since.
    public private(set) var gateways: GatewayTable
    /// Where the event lines go (a standby quiets it until it takes over).
    public var logger: Logger
    /// Keeps lines that clients can trigger at will (refusals, bad frames) from flooding the log.
    let clientLines = LogThrottle<String>(limit: 20, per: .seconds(10))
    /// Rooms with events not yet followed by a head, and when their last event was (monotonic ms).
    private var unannounced: [String: UInt64] = [:]
    /// How long a room stays quiet before its head is published, ms.
    public static let quietMilliseconds: UInt64 = 500
    /// The most bytes of JSON (join) or replayed payloads (replay) in one reply: the frame limit the
    /// gateway enforces less a margin for the reply's other fields.
    public static let replyByteBudget = WireFormat.maxFrameSize - (64 << 10)
    /// A member whose gateway has been silent this long (four missed heartbeats: likely dead) may be taken
    /// over by a join with its name and the password, before the gateway timeout drops it.
    public static let supplantAfterSilenceMilliseconds: UInt64 = 1_000
    /// Most bytes of a gateway's hello name.
    public static let maxGatewayNameBytes = 128
    /// Most bytes of a command's client address key (printable ASCII).
    public static let maxClientBytes = 64
    /// Most bytes of a field copied from a refused command into its log line.
    static let logFieldBytes = 64
    /// This broker run's random id, sent in hello and heartbeat replies so gateways notice a restart.
    /// It names the state, not the process: a standby that takes over keeps it (the rooms are the same).
    public private(set) var instance: String
    /// The fencing term of the pair when this state was last made active (1 for a broker alone), sent
    /// in hello and heartbeat replies: gateways ignore a broker answering with a lower one.
    public var term: UInt64 = 1
    /// Commands dropped unapplied because they waited past their ttl.
    public private(set) var expiredCommands = 0

    /// An engine over an empty registry.
    public init(
        configuration: RoomRegistryConfiguration = .init(),
        gatewayTimeoutMilliseconds: UInt64 = 5_000,
        logger: Logger
    ) {
        self.registry = RoomRegistry(configuration: configuration)
        self.gateways = GatewayTable(timeoutMilliseconds: gatewayTimeoutMilliseconds)
        self.logger = logger
        self.instance = String(UInt64.random(in: 1...UInt64.max), radix: 36)
    }

    /// An engine over the state in `snapshot` (a standby catching up with the active).
    public init(snapshot: BrokerSnapshot, logger: Logger) {
        self.registry = snapshot.registry
        self.gateways = snapshot.gateways
        self.unannounced = snapshot.unannounced
        self.instance = snapshot.instance
        self.expiredCommands = snapshot.expiredCommands
        self.term = snapshot.term
        self.logger = logger
    }

    /// The whole state, for a standby to start from.
    public func snapshot() -> BrokerSnapshot {
        BrokerSnapshot(
            registry: registry,
            gateways: gateways,
            unannounced: unannounced,
            instance: instance,
            expiredCommands: expiredCommands,
            term: term
        )
    }

    /// The random values the last live ``handle(frame:from:now:)`` drew, to replicate with its input.
    public mutating func takeEntropy() -> [UInt64] {
        registry.random.takeRecorded()
    }

    /// Applies an input the active applied (a standby): the same draws, the same clock, so the same
    /// state and output. `overdrawn` says whether it asked for more random values than the active did.
    public mutating func apply(_ input: BrokerInput) -> (output: BrokerOutput, overdrawn: Bool) {
        switch input {
        case .command(let gateway, let frame, let now, let entropy):
            let before = registry.random.overdrawn
            registry.random.replay(entropy)
            let output = handle(frame: frame, from: gateway, now: now)
            let overdrawn = registry.random.overdrawn != before
            _ = registry.random.takeRecorded()
            return (output, overdrawn)
        case .tick(let now):
            return (tick(now: now), false)
        }
    }

    /// A head for every room, in name order: published by a standby that just took over, so every
    /// gateway checks it has each room's last event (and replays what it lacks).
    public func heads() -> [WireBroadcast] {
        registry.rooms.keys.sorted().map { head(of: $0) }
    }

    /// Handles one command frame from `gateway` (its ZeroMQ routing id) at `now`.
    ///
    /// A gateway is known from its `hello` until it falls silent; any other command from an unknown
    /// gateway is answered with `unknown_gateway` and not applied. A command that waited longer than
    /// its ttl gets no reply at all (its gateway stopped waiting).
    public mutating func handle(frame: [UInt8], from gateway: String, now: BrokerClock) -> BrokerOutput {
        let known = gateways.touch(gateway, now: now.monotonic)
        let command: WireCommand
        do {
            command = try WireCommand.decode(frame)
        } catch {
            logClientTriggered(
                .badFrame,
                key: "gateway \(gateway)",
                ["gateway": "\(gateway.prefix(utf8Bytes: Self.logFieldBytes))", "reason": "\(error)"]
            )
            let ids = WireCommand.ids(ofUndecodable: frame)
            let reply = WireReply(
                kind: .invalid,
                requestID: ids.requestID,
                connectionID: ids.connectionID,
                result: .failure(ChatError(.badRequest, "malformed command: \(error)"))
            )
            return BrokerOutput(reply: reply)
        }
        let connection = ConnectionKey(gateway: gateway, connectionID: command.connectionID)
        if case .hello = command.body {
            // A hello is never stale: it (re)starts the gateway's clock relation.
        } else if !known {
            logClientTriggered(
                .unknownGateway,
                key: "gateway \(gateway)",
                ["gateway": "\(gateway.prefix(utf8Bytes: Self.logFieldBytes))", "reason": "\(command.body.kind)"]
            )
            return BrokerOutput(reply: WireReply(to: command, result: .failure(unknownGateway(gateway))))
        } else if case .expired(let report) = gateways.admit(
            gateway,
            sentAt: command.sentAt,
            ttl: command.ttl,
            now: now.monotonic
        ) {
            expiredCommands += 1
            if let report {
                logClientTriggered(
                    .expired,
                    key: "gateway \(gateway)",
                    ["gateway": "\(gateway)", "count": "\(report)"]
                )
            }
            return BrokerOutput()
        }
        do {
            try Self.validateClient(command.client)
            try checkShard(command.body)
            let output = try apply(command, connection: connection, now: now)
            for broadcast in output.broadcasts { unannounced[broadcast.room] = now.monotonic }
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
        WireBroadcast(
            kind: .head,
            room: room,
            seq: registry.rooms[room]?.lastSeq ?? 0,
            gateway: "",
            connectionID: 0,
            payload: []
        )
    }

    /// Periodic work: publishes heads of rooms that fell quiet, drops silent gateways (announcing their
    /// members as left), reports dropped stale commands and expires empty rooms.
    public mutating func tick(now: BrokerClock) -> BrokerOutput {
        for summary in clientLines.endedWindows() {
            logger.notice("suppressed", metadata: summary.metadata)
        }
        var output = BrokerOutput()
        // Rooms quiet for a moment after events get their head published: a gateway that lost the
        // last events (past the high-water mark) sees it behind and replays them.
        let quiet = unannounced.filter {
            now.monotonic >= $0.value && now.monotonic - $0.value >= Self.quietMilliseconds
        }.keys.sorted()
        for room in quiet {
            unannounced[room] = nil
            if registry.rooms[room] != nil { output.broadcasts.append(head(of: room)) }
        }
        for (gateway, count) in gateways.dueExpiryReports(now: now.monotonic) {
            logClientTriggered(.expired, key: "gateway \(gateway)", ["gateway": "\(gateway)", "count": "\(count)"])
        }
        for gateway in gateways.removeSilent(now: now.monotonic) {
            let dropped = registry.dropGateway(gateway, now: now)
            logger.warning(
                "gateway-lost",
                metadata: [
                    "gateway": "\(gateway)", "members": "\(dropped.events.count + dropped.away.count)",
                ]
            )
            for member in dropped.away {
                logger.info(
                    "away",
                    metadata: [
                        "room": "\(member.room)", "name": "\(member.name)", "reason": "gateway lost",
                        "gateway": "\(gateway)",
                    ]
                )
            }
            output.broadcasts += dropped.events.map { broadcast($0, reason: "gateway lost") }
            for event in dropped.events { unannounced[event.room] = now.monotonic }
        }
        for event in registry.expireSessions(now: now) {
            output.broadcasts.append(broadcast(event, reason: "session grace ended"))
            unannounced[event.room] = now.monotonic
        }
        for room in registry.expireEmptyRooms(now: now) {
            logger.info("room-expired", metadata: ["room": "\(room)"])
        }
        return output
    }

    private mutating func apply(
        _ command: WireCommand,
        connection: ConnectionKey,
        now: BrokerClock
    ) throws(ChatError) -> BrokerOutput {
        func success(_ value: WireReply.Success, _ broadcasts: [WireBroadcast] = []) -> BrokerOutput {
            BrokerOutput(reply: WireReply(to: command, result: .success(value)), broadcasts: broadcasts)
        }
        switch command.body {
        case .hello(let gatewayName):
            guard gatewayName.utf8.count <= Self.maxGatewayNameBytes else {
                throw ChatError(.badRequest, "gateway name must be at most \(Self.maxGatewayNameBytes) bytes")
            }
            let isNew = gateways.register(connection.gateway, name: gatewayName, now: now.monotonic)
            _ = gateways.admit(connection.gateway, sentAt: command.sentAt, ttl: 0, now: now.monotonic)
            logger.info(
                "gateway-hello",
                metadata: [
                    "gateway": "\(connection.gateway)", "name": "\(gatewayName)",
                    "reason": "\(isNew ? "new" : "again")",
                ]
            )
            return success(.init(instance: instance, term: term))

        case .heartbeat:
            return success(.init(instance: instance, term: term))

        case .create(let name, let requestedRoom, let key):
            let created = try registry.create(
                requestedRoom: requestedRoom,
                creatorName: name,
                key: key,
                by: connection,
                client: command.client,
                now: now
            )
            var fields = metadata(room: created.room, name: name, connection)
            if created.repeated { fields["reason"] = "repeated id: new password" }
            logger.info("create", metadata: fields)
            var json = JSONWriter(capacity: 64)
            json.beginObject()
            json.key("room")
            json.string(created.room)
            json.key("password")
            json.string(created.password)
            json.endObject()
            return success(.init(room: created.room, json: json.bytes))

        case .join(let room, let password, let name, let since, let pid):
            let gateways = gateways
            let result = try registry.join(
                room: room,
                password: password,
                name: name,
                since: since,
                pid: pid,
                by: connection,
                client: command.client,
                now: now,
                isGone: {
                    gateways.silence(of: $0.gateway, now: now.monotonic) >= Self.supplantAfterSilenceMilliseconds
                }
            )
            let joinedRoom = result.event.room
            let reply = WireReply.Success(
                room: joinedRoom,
                seq: result.seq,
                json: Self.joinJSON(result, room: joinedRoom)
            )
            // A retried join changed nothing: no event to announce.
            return success(reply, result.repeated ? [] : [broadcast(result.event)])

        case .leave(let room):
            let event = try registry.leave(room: room, by: connection, now: now)
            var json = JSONWriter(capacity: 48)
            json.beginObject()
            json.key("room")
            json.string(event.room)
            json.endObject()
            return success(.init(room: event.room, seq: event.seq, json: json.bytes), [broadcast(event)])

        case .message(let room, let text, let key):
            let outcome = try registry.message(room: room, text: text, key: key, by: connection, now: now)
            return success(
                .init(room: outcome.room, seq: outcome.seq, json: seqJSON(outcome.seq)),
                broadcasts(of: outcome, connection)
            )

        case .post(let room, let password, let name, let text, let key):
            let outcome = try registry.post(
                room: room,
                password: password,
                name: name,
                text: text,
                key: key,
                by: connection,
                client: command.client,
                now: now
            )
            return success(
                .init(room: outcome.room, seq: outcome.seq, json: seqJSON(outcome.seq)),
                broadcasts(of: outcome, connection)
            )

        case .listRooms(let after, let limit):
            return success(.init(json: try registry.page(after: after, limit: Int(limit)).json))

        case .disconnect:
            let dropped = registry.disconnect(connection, now: now)
            logAway(dropped.away, connection, reason: "disconnected")
            return success(.init(), dropped.events.map { broadcast($0, reason: "disconnected") })

        case .replay(let room, let from, let to):
            let kept = try registry.replay(room: room, from: from, to: to, maxBytes: Self.replyByteBudget)
            logger.debug(
                "replay",
                metadata: [
                    "room": "\(room)", "reason": "\(from)...\(to): gave \(kept.count)",
                    "gateway": "\(connection.gateway)",
                ]
            )
            return success(
                .init(
                    room: room,
                    events: kept.map { WireReply.ReplayedEvent(seq: $0.seq, gseq: $0.gseq, payload: $0.payload) }
                )
            )

        case .resume(let pid, let resumeInstance, let since):
            return try resume(
                pid: pid,
                instance: resumeInstance,
                since: since,
                command: command,
                connection: connection,
                now: now
            )

        case .status:
            // A broker's node answers status before its engine (unreplicated); an engine alone answers itself.
            return success(.init(json: try Self.json(of: statusReport(role: .alone, now: now.monotonic))))
        }
    }

    /// Connection-state recovery (``WireCommand/Body/resume(pid:instance:since:)``): an offset from
    /// another broker state (`instance`) cannot be resumed; otherwise the registry moves the session's
    /// memberships here, each room hears `resumed`, and the reply holds the broker's instance (in `room`),
    /// the rooms and the missed events.
    private mutating func resume(
        pid: String,
        instance resumeInstance: String,
        since: UInt64?,
        command: WireCommand,
        connection: ConnectionKey,
        now: BrokerClock
    ) throws(ChatError) -> BrokerOutput {
        guard resumeInstance.utf8.count <= RecoveryOffset.maxInstanceBytes else {
            throw ChatError(.badRequest, "instance must be at most \(RecoveryOffset.maxInstanceBytes) bytes")
        }
        guard since == nil || resumeInstance == instance else {
            throw ChatError(.replayUnavailable, "the offset is from another broker state; join your rooms again")
        }
        let result = try registry.resume(
            pid: pid,
            since: since,
            by: connection,
            now: now,
            maxBytes: Self.replyByteBudget
        )
        let broadcasts = result.events.map { broadcast($0) }
        logger.info(
            "recover",
            metadata: [
                "gateway": "\(connection.gateway)", "conn": "\(connection.connectionID)",
                "members": "\(result.rooms.count)",
                "reason": "replayed \(result.missed.count) events",
            ]
        )
        let reply = WireReply.Success(
            events: result.missed.map { WireReply.ReplayedEvent(seq: $0.seq, gseq: $0.gseq, payload: $0.payload) },
            rooms: result.rooms,
            instance: instance
        )
        return BrokerOutput(reply: WireReply(to: command, result: .success(reply)), broadcasts: broadcasts)
    }

    /// The join ack `{room, seq, members, count, history, complete?}`: at most 200 member names (with the
    /// total in `count`) and the newest messages that fit in ``replyByteBudget``, oldest first; `complete`
    /// only for a join with `since`, false when a message after it is missing (dropped, or cut here).
    static func joinJSON(_ result: RoomRegistry.JoinResult, room: String) -> [UInt8] {
        var json = JSONWriter(capacity: 256 + result.members.count * 24 + result.history.count * 128)
        json.beginObject()
        json.key("room")
        json.string(room)
        json.key("seq")
        json.uint(result.seq)
        json.key("members")
        json.beginArray()
        for member in result.members { json.string(member) }
        json.endArray()
        json.key("count")
        json.int(Int64(result.memberCount))
        // The newest messages first, each encoded once, until the next would not fit.
        var budget = replyByteBudget - json.bytes.count - 32
        var newestFirst: [[UInt8]] = []
        for message in result.history.reversed() {
            var object = JSONWriter(capacity: message.byteCount + 64)
            ServerEventEncoder.writeMessageObject(
                &object,
                room: room,
                seq: message.seq,
                name: message.name,
                text: message.text,
                timestamp: Int64(message.timestamp),
                via: message.via
            )
            let size = object.bytes.count + 1
            guard size <= budget else { break }
            budget -= size
            newestFirst.append(object.bytes)
        }
        json.key("history")
        json.beginArray()
        for object in newestFirst.reversed() { json.raw(object) }
        json.endArray()
        if let complete = result.complete {
            json.key("complete")
            json.bool(complete && newestFirst.count == result.history.count)
        }
        json.endObject()
        return json.bytes
    }

    private mutating func broadcasts(of outcome: MessageOutcome, _ connection: ConnectionKey) -> [WireBroadcast] {
        switch outcome {
        case .new(let event):
            return [broadcast(event)]
        case .repeated(let room, let seq):
            logger.debug(
                "message-repeated",
                metadata: [
                    "room": "\(room)", "seq": "\(seq)", "gateway": "\(connection.gateway)",
                    "conn": "\(connection.connectionID)",
                ]
            )
            return []
        }
    }

    /// Encodes `event` once, keeps the bytes for replays, logs it, and returns its broadcast.
    private mutating func broadcast(_ event: RoomEvent, reason: String? = nil) -> WireBroadcast {
        let wire: WireBroadcast
        switch event {
        case .joined(let room, let seq, let name, let count, let connection):
            logger.info("join", metadata: metadata(room: room, name: name, connection, seq: seq, members: count))
            wire = WireBroadcast(
                kind: .joined,
                room: room,
                seq: seq,
                gateway: connection.gateway,
                connectionID: connection.connectionID,
                payload: ServerEventEncoder.joined(room: room, seq: seq, name: name, count: count)
            )
        case .resumed(let room, let seq, let name, let count, let connection):
            logger.info("resume", metadata: metadata(room: room, name: name, connection, seq: seq, members: count))
            // Numbered and sent as kind `joined`, so the joining gateway matches it to its join like any
            // other; the clients see a `resumed` event, not an arrival.
            wire = WireBroadcast(
                kind: .joined,
                room: room,
                seq: seq,
                gateway: connection.gateway,
                connectionID: connection.connectionID,
                payload: ServerEventEncoder.resumed(room: room, seq: seq, name: name, count: count)
            )
        case .left(let room, let seq, let name, let count, let connection):
            var fields = metadata(room: room, name: name, connection, seq: seq, members: count)
            if let reason { fields["reason"] = "\(reason)" }
            logger.info("leave", metadata: fields)
            wire = WireBroadcast(
                kind: .left,
                room: room,
                seq: seq,
                gateway: connection.gateway,
                connectionID: connection.connectionID,
                payload: ServerEventEncoder.left(room: room, seq: seq, name: name, count: count)
            )
        case .message(let room, let message, let connection):
            // Built only when logged: a standby's engine (warnings only) applies every message too.
            if logger.logLevel <= .info {
                var fields: Logger.Metadata = [
                    "room": "\(room)", "seq": "\(message.seq)", "name": "\(message.name)",
                    "text": "\(Self.preview(message.text))",
                ]
                if let connection {
                    fields["gateway"] = "\(connection.gateway)"
                    fields["conn"] = "\(connection.connectionID)"
                }
                if let via = message.via { fields["reason"] = "\(via.rawValue)" }
                logger.info("message", metadata: fields)
            }
            wire = WireBroadcast(
                kind: .message,
                room: room,
                seq: message.seq,
                gateway: connection?.gateway ?? "",
                connectionID: connection?.connectionID ?? 0,
                payload: ServerEventEncoder.message(
                    room: room,
                    seq: message.seq,
                    name: message.name,
                    text: message.text,
                    timestamp: Int64(message.timestamp),
                    via: message.via
                )
            )
        }
        var numbered = wire
        numbered.gseq = registry.recordBroadcast(room: wire.room, seq: wire.seq, payload: wire.payload)
        return numbered
    }

    /// One line per membership a dropped connection keeps for the session grace.
    func logAway(_ away: [AwayMember], _ connection: ConnectionKey, reason: String) {
        for member in away {
            logger.info(
                "away",
                metadata: [
                    "room": "\(member.room)", "name": "\(member.name)",
                    "reason": "\(reason): kept for the session grace",
                    "gateway": "\(connection.gateway)", "conn": "\(connection.connectionID)",
                ]
            )
        }
    }

    /// At most 20 such lines per key (client address and refusal code, or gateway) every
    /// 10 s; the next line admitted, or a summary at the window's end, says how many were left out.
}
