import ChatLogging
import ChatWire
import Logging
import SocketIO

/// What clients see of the engine's decisions: the join ack and each room event, encoded once.
extension BrokerEngine {
    /// The join ack: at most 200 member names, the newest messages that fit in ``replyByteBudget``,
    /// copied from the room's cached encoded history (``HistoryCache``), byte for byte what
    /// ``encodedJoinJSON(_:room:)`` gives.
    mutating func joinJSON(_ result: RoomRegistry.JoinResult, room: String) -> [UInt8] {
        // The join's history is the newest messages of the room's (all of them, or those after `since`).
        guard let kept = registry.rooms[room] else { return Self.encodedJoinJSON(result, room: room) }
        let encoded = historyCache.history(of: kept)
        guard encoded.count >= result.history.count,
            encoded.lastSeq == result.history.last?.seq || result.history.isEmpty
        else { return Self.encodedJoinJSON(result, room: room) }
        return ServerEventEncoder.joinAck(
            room: room,
            seq: result.seq,
            members: result.members,
            count: result.memberCount,
            encodedHistory: encoded,
            newest: result.history.count,
            complete: result.complete,
            token: result.token,
            byteBudget: Self.replyByteBudget
        )
    }

    /// The join ack (``ServerEventEncoder/joinAck(room:seq:members:count:history:complete:byteBudget:)``)
    /// with every message of its history encoded afresh.
    static func encodedJoinJSON(_ result: RoomRegistry.JoinResult, room: String) -> [UInt8] {
        ServerEventEncoder.joinAck(
            room: room,
            seq: result.seq,
            members: result.members,
            count: result.memberCount,
            history: result.history,
            complete: result.complete,
            token: result.token,
            byteBudget: replyByteBudget
        )
    }

    mutating func broadcasts(of outcome: MessageOutcome, _ connection: ConnectionKey) -> [WireBroadcast] {
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

    /// Whether to write an event line now (at `info`, within its client's sample), with the count of
    /// lines its client had left out before it; nil to leave it out.
    func eventLine() -> Logger.Metadata? {
        guard logger.logLevel <= .info else { return nil }
        guard let client = commandClient else { return [:] }
        let verdict = successLines.check(client)
        return verdict.admitted ? verdict.metadata : nil
    }

    /// The line of a presence event, when ``eventLine()`` admitted it (`line`: its extra fields).
    private func logPresence(
        _ message: Logger.Message,
        _ line: Logger.Metadata?,
        room: String,
        name: String,
        _ connection: ConnectionKey,
        seq: UInt64,
        members: Int,
        reason: String? = nil
    ) {
        guard let line else { return }
        var fields = metadata(room: room, name: name, connection, seq: seq, members: members).merging(line) { $1 }
        if let reason { fields["reason"] = "\(reason)" }
        logger.info(message, metadata: fields)
    }

    /// Encodes `event` once, keeps the bytes for replays, logs it (sampled per client under a flood:
    /// ``eventLine()``), and returns its broadcast.
    mutating func broadcast(_ event: RoomEvent, reason: String? = nil) -> WireBroadcast {
        let wire: WireBroadcast
        let line = eventLine()
        switch event {
        case .joined(let room, let seq, let name, let count, let connection):
            logPresence("join", line, room: room, name: name, connection, seq: seq, members: count)
            wire = Self.presence(
                .joined,
                of: event,
                connection,
                ServerEventEncoder.joined(room: room, seq: seq, name: name, count: count)
            )
        case .resumed(let room, let seq, let name, let count, let connection):
            logPresence("resume", line, room: room, name: name, connection, seq: seq, members: count)
            // Numbered and sent as kind `joined`, so the joining gateway matches it to its join like any
            // other; the clients see a `resumed` event, not an arrival.
            wire = Self.presence(
                .joined,
                of: event,
                connection,
                ServerEventEncoder.resumed(room: room, seq: seq, name: name, count: count)
            )
        case .left(let room, let seq, let name, let count, let connection):
            logPresence("leave", line, room: room, name: name, connection, seq: seq, members: count, reason: reason)
            wire = Self.presence(
                .left,
                of: event,
                connection,
                ServerEventEncoder.left(room: room, seq: seq, name: name, count: count)
            )
        case .message(let room, let message, let connection):
            // Built only when logged: a standby's engine (warnings only) applies every message too.
            if let line {
                var fields: Logger.Metadata = [
                    "room": "\(room)", "seq": "\(message.seq)", "name": "\(message.name)",
                    "text": "\(Self.preview(message.text))",
                ]
                fields.merge(line) { $1 }
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

    /// The notice to the connection `old` that `event` (the resume that took its membership over) ended
    /// its membership: not a room event (not numbered, not kept for replay), only for its gateway.
    static func takenOver(_ event: RoomEvent, from old: ConnectionKey) -> WireBroadcast {
        WireBroadcast(
            kind: .takenOver,
            room: event.room,
            seq: event.seq,
            gateway: old.gateway,
            connectionID: old.connectionID,
            payload: ServerEventEncoder.removed(room: event.room, name: event.name)
        )
    }

    /// The broadcast of presence `event` (joined, resumed, left) of the member on `connection`.
    private static func presence(
        _ kind: BroadcastKind,
        of event: RoomEvent,
        _ connection: ConnectionKey,
        _ payload: [UInt8]
    ) -> WireBroadcast {
        WireBroadcast(
            kind: kind,
            room: event.room,
            seq: event.seq,
            gateway: connection.gateway,
            connectionID: connection.connectionID,
            payload: payload
        )
    }
}
