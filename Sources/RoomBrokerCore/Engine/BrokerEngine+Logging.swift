import ChatLogging
import ChatWire
import Logging
import SocketIO

/// The engine's log lines (refusals throttled per client key), field checks and small encodings.
extension BrokerEngine {
    func log(refusal error: ChatError, of command: WireCommand, connection: ConnectionKey) {
        var fields: Logger.Metadata = [
            "reason": "\(error.code.code)", "gateway": "\(connection.gateway)", "conn": "\(connection.connectionID)",
        ]
        if let limit = error.limit { fields["limit"] = "\(limit.rawValue)" }
        if !command.client.isEmpty { fields["client"] = "\(command.client.prefix(utf8Bytes: Self.logFieldBytes))" }
        func cut(_ field: String) -> Logger.MetadataValue { "\(field.prefix(utf8Bytes: Self.logFieldBytes))" }
        switch command.body {
        case .join(let room, _, let name, _, _, _), .post(let room, _, let name, _, _):
            fields["room"] = cut(room)
            fields["name"] = cut(name)
        case .create(let name, let room, _):
            fields["room"] = cut(room)
            fields["name"] = cut(name)
        case .leave(let room), .message(let room, _, _), .replay(let room, _, _), .history(let room, _):
            fields["room"] = cut(room)
        case .hello(let name):
            fields["name"] = cut(name)
        case .heartbeat, .listRooms, .disconnect, .resume, .status:
            break
        }
        // Per address and refusal code, so a flood of wrong passwords cannot hide the line saying
        // that a limit bit.
        let key = (command.client.isEmpty ? "gateway \(connection.gateway)" : command.client) + " \(error.code.code)"
        logClientTriggered(.refused(command.body.kind), key: key, fields)
    }

    /// The one place where lines that clients can trigger at will are written (refusals, bad frames,
    /// expired commands, unknown gateways): a shared throttle belongs here.
    func logClientTriggered(_ event: ClientLogEvent, key: String, _ metadata: Logger.Metadata) {
        let verdict = clientLines.check(key)
        guard verdict.admitted else { return }
        logger.notice("\(event)", metadata: metadata.merging(verdict.metadata) { $1 })
    }

    func unknownGateway(_ gateway: String) -> ChatError {
        ChatError(
            .unknownGateway,
            "the broker does not know gateway \(gateway.prefix(utf8Bytes: Self.logFieldBytes)): it restarted, or dropped "
                + "the gateway after \(gateways.timeoutMilliseconds / 1000) s of silence and removed its members; "
                + "send hello, then have your clients join their rooms again"
        )
    }

    /// Refuses a command about a room of another shard (docs/PROTOCOL.md, "Shards") before it changes
    /// anything. Costs nothing when the rooms are not sharded.
    func checkShard(_ body: WireCommand.Body) throws(ChatError) {
        let shard = registry.configuration.shard
        guard shard.count > 1, let raw = body.room else { return }
        let room = try FieldValidator.room(raw)
        guard shard.owns(room: room) else {
            let placed = Shard.index(ofRoom: room, count: shard.count, key: shard.key)
            throw ChatError(
                .wrongShard,
                "room \(room) is on shard \(placed)/\(shard.count) by this broker's placement (shard \(shard)), not on "
                    + "its own: the gateway that sent it places rooms otherwise. Give every gateway and broker of the "
                    + "cluster the same --shards \(shard.count) and --shard-key file (their logs show its fingerprint), "
                    + "and list the brokers in shard order"
            )
        }
    }

    /// Refuses a client address key that is not 0–64 bytes of printable ASCII (the gateway computes it).
    static func validateClient(_ client: String) throws(ChatError) {
        guard client.utf8.count <= maxClientBytes, client.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw ChatError(
                .badRequest,
                "client address key must be at most \(maxClientBytes) bytes of printable ASCII"
            )
        }
    }

    func metadata(
        room: String,
        name: String,
        _ connection: ConnectionKey,
        seq: UInt64? = nil,
        members: Int? = nil
    ) -> Logger.Metadata {
        var fields: Logger.Metadata = [
            "room": "\(room)", "name": "\(name)", "gateway": "\(connection.gateway)",
            "conn": "\(connection.connectionID)",
        ]
        if let seq { fields["seq"] = "\(seq)" }
        if let members { fields["members"] = "\(members)" }
        return fields
    }

    /// At most the first 120 bytes of a message for the log line, cut at a scalar boundary.
    static func preview(_ text: String) -> String {
        text.prefix(utf8Bytes: 120)
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
}
