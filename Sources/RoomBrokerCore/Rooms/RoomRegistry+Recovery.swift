import ChatWire
import SocketIO

/// Connection-state recovery and the session grace: resumes, dropped connections and gateways, and the
/// index of Socket.IO sessions.
extension RoomRegistry {
    /// Connection-state recovery: moves every membership of Socket.IO session `pid` (disconnected, or
    /// still on an old connection) to `connection`, and returns the kept events its client missed: those
    /// after the membership's join and after `since` (the last broker-wide gseq the client saw; nil:
    /// none since it joined), but for the session's own `resumed` events, merged in gseq order. All or
    /// nothing: throws `replay_unavailable` (and changes nothing) when the session is unknown, when one
    /// missed event is no longer kept, or when they exceed `maxBytes`. A repeat from the same connection
    /// answers the same way without new `resumed` events. It costs a token of `client`'s join budget
    /// (``chargeJoin(client:now:)``).
    public mutating func resume(
        pid rawPid: String,
        since: UInt64?,
        by connection: ConnectionKey,
        client: String = "",
        now: BrokerClock,
        maxBytes: Int = .max
    ) throws(ChatError) -> ResumeResult {
        let pid = try Self.sessionID(rawPid, allowEmpty: false)
        try chargeJoin(client: client, now: now)
        guard let names = roomsBySession[pid], !names.isEmpty else {
            throw ChatError(
                .replayUnavailable,
                "no session to recover (it ended, or it had no rooms); join your rooms again"
            )
        }
        let after = since ?? 0
        var missed: [Room.RecentBroadcast] = []
        var bytes = 0
        for name in names {
            guard let room = rooms[name], let index = room.member(ofSession: pid) else { continue }
            let member = room.members[index]
            let repeated = member.connection == connection && member.disconnectedSince == nil
            if !repeated, room.memberName(on: connection) != nil {
                throw ChatError(.badRequest, "this connection is already in room \(name)")
            }
            guard let events = room.missed(by: index, since: after) else {
                throw ChatError(
                    .replayUnavailable,
                    "events of room \(name) after your offset are no longer kept; join it again"
                )
            }
            for event in events { bytes += event.payload.count + 20 }
            guard bytes <= maxBytes else {
                throw ChatError(.replayUnavailable, "too many events were missed to replay them; join your rooms again")
            }
            missed += events
        }
        var positions: [WireReply.RoomPosition] = []
        var resumed: [RoomEvent] = []
        var supplanted: [String: ConnectionKey] = [:]
        for name in names {
            guard let roomIndex = rooms.index(forKey: name), let index = rooms.values[roomIndex].member(ofSession: pid)
            else { continue }
            let member = rooms.values[roomIndex].members[index]
            if member.connection == connection, member.disconnectedSince == nil {
                positions.append(.init(room: name, seq: rooms.values[roomIndex].lastSeq))
                continue
            }
            let seq = rooms.values[roomIndex].nextSeq()
            let old = rooms.values[roomIndex].move(at: index, to: connection, seq: seq)
            if member.disconnectedSince == nil { supplanted[name] = old }
            memberships.remove(name, for: old)
            memberships.insert(name, for: connection)
            positions.append(.init(room: name, seq: seq))
            resumed.append(
                .resumed(
                    room: name,
                    seq: seq,
                    name: member.name,
                    count: rooms.values[roomIndex].members.count,
                    connection: connection
                )
            )
        }
        missed.sort { $0.gseq < $1.gseq }
        return ResumeResult(rooms: positions, events: resumed, missed: missed, supplanted: supplanted)
    }

    /// The connection is gone: each of its memberships is kept as disconnected for the session grace
    /// (announced as left by ``expireSessions(now:)``; in ``DisconnectResult/away``), or removed at once
    /// when the grace is 0 (its `left` events in ``DisconnectResult/events``).
    public mutating func disconnect(_ connection: ConnectionKey, now: BrokerClock) -> DisconnectResult {
        let names = memberships.rooms(of: connection).sorted()
        guard configuration.sessionGraceMilliseconds > 0 else {
            return DisconnectResult(events: names.compactMap { remove(connection, from: $0, now: now) })
        }
        memberships.removeAll(for: connection)
        var result = DisconnectResult()
        for name in names {
            guard let index = rooms.index(forKey: name),
                let member = rooms.values[index].markDisconnected(connection, now: now.monotonic)
            else { continue }
            inGrace.append(GraceEntry(room: name, connection: connection, since: now.monotonic))
            result.away.append(AwayMember(room: name, name: member.name))
            // Within the client's and the room's bounds of disconnected members: past them, the one gone
            // longest leaves now (the client's own first).
            let bound = Self.maxDisconnectedMembers(in: configuration)
            while let oldest = evictionOverBounds(in: index, client: member.client, bound: bound, now: now) {
                unindex(session: oldest.pid, room: name)
                let room = rooms.values[index]
                result.evicted.append(
                    .left(
                        room: name,
                        seq: rooms.values[index].nextSeq(),
                        name: oldest.name,
                        count: room.members.count,
                        connection: oldest.connection
                    )
                )
            }
        }
        result.evicted += evictOverGlobalBound(now: now)
        return result
    }

    /// While more memberships wait in their grace than the configuration's `maxDisconnectedMembers`,
    /// the one that dropped longest ago leaves now (entries of members resumed since are skipped: the
    /// count is an upper bound of the members kept disconnected).
    mutating func evictOverGlobalBound(now: BrokerClock) -> [RoomEvent] {
        var events: [RoomEvent] = []
        while inGrace.count > configuration.maxDisconnectedMembers, let entry = inGrace.popFirst() {
            if let event = leaveAfterGrace(entry, now: now) { events.append(event) }
        }
        return events
    }

    /// Removes a disconnected member of room `index` when client `client` or the room is over its bound.
    private mutating func evictionOverBounds(
        in index: Dictionary<String, Room>.Index,
        client: String,
        bound: Int,
        now: BrokerClock
    ) -> Room.Member? {
        if !client.isEmpty, rooms.values[index].disconnectedCount(of: client) > Self.maxDisconnectedMembersPerClient {
            return rooms.values[index].removeOldestDisconnected(of: client, now: now.monotonic)
        }
        guard rooms.values[index].disconnectedCount > bound else { return nil }
        return rooms.values[index].removeOldestDisconnected(now: now.monotonic)
    }

    /// Disconnects every member connected through `gateway` (it restarted or went silent): they are
    /// kept for the session grace like any dropped connection.
    public mutating func dropGateway(_ gateway: String, now: BrokerClock) -> DisconnectResult {
        let connections = memberships.connections.filter { $0.gateway == gateway }
        var result = DisconnectResult()
        for connection in connections.sorted(by: { $0.connectionID < $1.connectionID }) {
            let dropped = disconnect(connection, now: now)
            result.events += dropped.events
            result.away += dropped.away
            result.evicted += dropped.evicted
        }
        return result
    }

    /// Members disconnected (and not resumed) for the whole session grace leave now: their `left` events.
    public mutating func expireSessions(now: BrokerClock) -> [RoomEvent] {
        let grace = configuration.sessionGraceMilliseconds
        var events: [RoomEvent] = []
        while let entry = inGrace.first, now.monotonic >= entry.since, now.monotonic - entry.since >= grace {
            _ = inGrace.popFirst()
            if let event = leaveAfterGrace(entry, now: now) { events.append(event) }
        }
        return events
    }

    /// The member of grace `entry`, if still disconnected since then, leaves: its `left` event.
    private mutating func leaveAfterGrace(_ entry: GraceEntry, now: BrokerClock) -> RoomEvent? {
        var pid = ""
        let event = try? update(entry.room) { room throws(ChatError) -> RoomEvent? in
            guard let member = room.removeDisconnected(entry.connection, before: entry.since, now: now.monotonic)
            else { return nil }
            pid = member.pid
            return .left(
                room: entry.room,
                seq: room.nextSeq(),
                name: member.name,
                count: room.members.count,
                connection: entry.connection
            )
        }
        unindex(session: pid, room: entry.room)
        return event ?? nil
    }

    /// Memberships kept as disconnected, waiting for a resume or the end of their grace (an upper bound:
    /// resumed ones count until their grace would have ended).
    public var sessionsInGrace: Int { inGrace.count }

    /// Records that session `pid` ("" for none) has a member in `room`.
    mutating func index(session pid: String, room: String) {
        guard !pid.isEmpty else { return }
        var names = roomsBySession[pid] ?? []
        let at = names.firstIndex { $0 >= room } ?? names.endIndex
        guard at == names.endIndex || names[at] != room else { return }
        names.insert(room, at: at)
        roomsBySession[pid] = names
    }

    /// Forgets that session `pid` ("" for none) has a member in `room`.
    mutating func unindex(session pid: String, room: String) {
        guard !pid.isEmpty, var names = roomsBySession[pid] else { return }
        names.removeAll { $0 == room }
        roomsBySession[pid] = names.isEmpty ? nil : names
    }

    /// Most bytes of a Socket.IO session's private id (gateways make 32 hex digits).
    public static let maxSessionIDBytes = 64

    /// Checks a session's private id: 1–64 bytes of ASCII letters and digits ("" allowed for a join
    /// without connection-state recovery).
    static func sessionID(_ pid: String, allowEmpty: Bool) throws(ChatError) -> String {
        guard allowEmpty || !pid.isEmpty, pid.utf8.count <= maxSessionIDBytes,
            pid.utf8.allSatisfy({
                (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
            })
        else {
            throw ChatError(.badRequest, "pid must be 1-\(maxSessionIDBytes) ASCII letters and digits")
        }
        return pid
    }
}
