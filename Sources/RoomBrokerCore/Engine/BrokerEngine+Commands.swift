import ChatLogging
import ChatWire
import Logging
import SocketIO

/// Applying one decoded command: the registry decides, the reply and broadcasts say what happened.
extension BrokerEngine {
    mutating func apply(
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
            return success(
                .init(
                    room: created.room,
                    json: ServerEventEncoder.createAck(room: created.room, password: created.password)
                )
            )

        case .join(let room, let password, let name, let since, let pid, let token):
            let gateways = gateways
            let result = try registry.join(
                room: room,
                password: password,
                name: name,
                since: since,
                pid: pid,
                token: token,
                by: connection,
                client: command.client,
                now: now,
                isGone: {
                    gateways.isClosed($0.gateway)
                        || gateways.silence(of: $0.gateway, now: now.monotonic) >= Self.supplantAfterSilenceMilliseconds
                }
            )
            let joinedRoom = result.event.room
            let reply = WireReply.Success(
                room: joinedRoom,
                seq: result.seq,
                json: joinJSON(result, room: joinedRoom)
            )
            // A retried join changed nothing: no event to announce.
            guard !result.repeated else { return success(reply) }
            let madeRoom = result.madeRoom.map { [broadcast($0, reason: "room full: disconnected longest ago")] } ?? []
            let takenOver = result.supplanted.map { [Self.takenOver(result.event, from: $0)] } ?? []
            return success(reply, madeRoom + [broadcast(result.event)] + takenOver)

        case .leave(let room):
            let event = try registry.leave(room: room, by: connection, now: now)
            return success(
                .init(room: event.room, seq: event.seq, json: ServerEventEncoder.leaveAck(room: event.room)),
                [broadcast(event)]
            )

        case .message(let room, let text, let key):
            let outcome = try registry.message(room: room, text: text, key: key, by: connection, now: now)
            return success(
                .init(room: outcome.room, seq: outcome.seq, json: ServerEventEncoder.seqAck(outcome.seq)),
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
                .init(room: outcome.room, seq: outcome.seq, json: ServerEventEncoder.seqAck(outcome.seq)),
                broadcasts(of: outcome, connection)
            )

        case .listRooms(let after, let limit):
            return success(.init(json: try registry.page(after: after, limit: Int(limit)).json))

        case .history(let room, let before):
            let messages = try registry.history(room: room, before: before, by: connection)
            // A page can be as large as a join's ack: it costs a token of the address's join budget.
            try registry.chargeJoin(client: command.client, now: now)
            let json = ServerEventEncoder.historyAck(room: room, messages: messages, byteBudget: Self.replyByteBudget)
            return success(.init(room: room, json: json))

        case .disconnect:
            let dropped = registry.disconnect(connection, now: now)
            logAway(dropped.away, connection, reason: "disconnected")
            return success(
                .init(),
                dropped.events.map { broadcast($0, reason: "disconnected") }
                    + dropped.evicted.map { broadcast($0, reason: "too many disconnected members") }
            )

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
    mutating func resume(
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
            client: command.client,
            now: now,
            maxBytes: Self.replyByteBudget
        )
        // Each resumed event, then the notice to the connection that still held that membership, if any.
        let broadcasts = result.events.flatMap { event in
            [broadcast(event)] + (result.supplanted[event.room].map { [Self.takenOver(event, from: $0)] } ?? [])
        }
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
}
