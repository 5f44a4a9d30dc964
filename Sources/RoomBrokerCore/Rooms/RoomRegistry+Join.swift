import ChatWire
import SocketIO

/// The commands of members and of the HTTP API: create, join and leave (messages in `+Messages`).
extension RoomRegistry {
    /// Creates a room named `requestedRoom` (or a generated name when empty) for `creatorName` on
    /// `connection` from address key `client`. Returns the room name and its plaintext password, which
    /// is not kept. A repeat of a non-empty `key` from the same `client` within 2 minutes answers with
    /// the same room and a new password while the room has no members, and `room_exists` after.
    /// It costs a token of `client`'s join budget (``chargeJoin(client:now:)``).
    public mutating func create(
        requestedRoom: String,
        creatorName: String,
        key rawKey: String = "",
        by connection: ConnectionKey,
        client: String = "",
        now: BrokerClock
    ) throws(ChatError) -> CreateResult {
        _ = try FieldValidator.name(creatorName)
        let key = try FieldValidator.key(rawKey)
        // An empty (or blank) room name asks the broker to pick one.
        let blank =
            requestedRoom.utf8.count <= FieldValidator.maxRoomLength && requestedRoom.trimmingWhitespace().isEmpty
        let requested = blank ? "" : try FieldValidator.room(requestedRoom)
        try chargeJoin(client: client, now: now)
        if !key.isEmpty, let previous = createKeys.room(client: client, key: key, now: now.monotonic) {
            guard let index = rooms.index(forKey: previous), rooms.values[index].members.isEmpty else {
                throw ChatError(
                    .roomExists,
                    "room \(previous) was already created with this id and is in use; create another room"
                )
            }
            let password = PasswordGenerator.generate(using: &random)
            rooms.values[index].replacePassword(PasswordHash(password: password, using: &random))
            return CreateResult(room: previous, password: password, repeated: true)
        }
        let keys = LimitKeys(connection: "create:\(connection)", client: client.isEmpty ? nil : "create:\(client)")
        try Self.refuseIfBlocked(createsByConnection, createsByClient, keys, now: now) { perAddress, wait in
            perAddress
                ? ChatError(
                    .rateLimited,
                    "too many rooms created from your address; wait \(wait) s and try again",
                    limit: .createsPerAddress
                )
                : ChatError(
                    .rateLimited,
                    "too many rooms created; wait \(wait) s and try again",
                    limit: .createsPerConnection
                )
        }
        try checkCreationBeyondAddress(client: client, now: now)
        if !client.isEmpty, roomsByCreator[client, default: 0] >= configuration.roomsPerClient {
            throw ChatError(
                .rateLimited,
                "your address already has \(configuration.roomsPerClient) rooms; one is freed 5 minutes after its last member leaves",
                limit: .roomsPerAddress
            )
        }
        guard rooms.count < configuration.maxRooms else {
            throw ChatError(
                .tooManyRooms,
                "the server holds its maximum of \(configuration.maxRooms) rooms; try again later",
                limit: .maxRooms
            )
        }
        let room: String
        if requested.isEmpty {
            let taken = rooms
            guard
                let generated = RoomNameGenerator.generate(
                    using: &random,
                    in: configuration.shard,
                    isTaken: { taken[$0] != nil }
                )
            else {
                throw ChatError(
                    .internalError,
                    "no free room name of this broker's shard \(configuration.shard) was found; try again, or name the room"
                )
            }
            room = generated
        } else {
            room = requested
            guard rooms[room] == nil else {
                throw ChatError(.roomExists, "room \(room) already exists; pick another name")
            }
        }
        Self.record(&createsByConnection, &createsByClient, keys, now: now)
        recordCreation(client: client, now: now)
        if !client.isEmpty { roomsByCreator[client, default: 0] += 1 }
        if !key.isEmpty { createKeys.record(client: client, key: key, room: room, now: now.monotonic) }
        let password = PasswordGenerator.generate(using: &random)
        rooms[room] = Room(
            name: room,
            incarnation: nextIncarnation,
            creator: client,
            passwordHash: PasswordHash(password: password, using: &random),
            now: now,
            configuration: configuration
        )
        nextIncarnation += 1
        sortedNames.insert(room, at: insertionIndex(of: room))
        return CreateResult(room: room, password: password, repeated: false)
    }

    /// Adds `connection` (from address key `client`) to `room` as `name` if `password` opens it. A
    /// disconnected member of that name (``FieldValidator/nameKey(_:)``) is taken over instead (a resume).
    /// With `since` (the last seq the client saw), the history is the kept messages numbered after it.
    /// `pid` (not empty with connection-state recovery) is the connection's Socket.IO session.
    /// A member still counted as connected whose gateway `isGone` (it fell silent: likely dead) is taken
    /// over like a disconnected one, rather than refusing the name until the gateway timeout. Every join,
    /// right password or wrong, costs a token of `client`'s join budget (``chargeJoin(client:now:)``).
    public mutating func join(
        room rawRoom: String,
        password: String,
        name rawName: String,
        since: UInt64? = nil,
        pid rawPid: String = "",
        token rawToken: String = "",
        by connection: ConnectionKey,
        client: String = "",
        now: BrokerClock,
        isGone: (ConnectionKey) -> Bool = { _ in false }
    ) throws(ChatError) -> JoinResult {
        let roomName = try FieldValidator.room(rawRoom)
        let name = try FieldValidator.name(rawName)
        _ = try FieldValidator.password(password)
        let pid = try Self.sessionID(rawPid, allowEmpty: true)
        let token = try FieldValidator.token(rawToken)
        // Normalised once: members' keys were computed when they joined.
        let key = FieldValidator.nameKey(name)
        try chargeJoin(client: client, now: now)
        try checkPassword(password, room: roomName, by: connection, client: client, now: now)
        let maxMembers = configuration.maxMembersPerRoom
        // Drawn here (the registry's random source cannot be touched while a room is being changed).
        let issued = ResumeToken.make(using: &random)
        var previousPid = ""
        var supplanted: ConnectionKey?
        var evicted: Room.Member?
        var madeRoom: RoomEvent?
        let result = try update(roomName) { room throws(ChatError) -> JoinResult? in
            if let existing = room.memberName(on: connection) {
                // A retried join (the gateway resends commands after a broker failover): the same name
                // succeeds again without a second event; another name is a client error.
                guard FieldValidator.nameKey(existing) == key else {
                    throw ChatError(.badRequest, "this connection is already in room \(roomName)")
                }
                // Its first ack may be lost: the member gets a new token (the old one stops working).
                if let index = room.members.firstIndex(where: { $0.connection == connection }) {
                    room.setToken(issued.hash, at: index)
                }
                return JoinResult(
                    event: .joined(
                        room: roomName,
                        seq: room.lastSeq,
                        name: existing,
                        count: room.members.count,
                        connection: connection
                    ),
                    members: room.memberNames(limit: Self.maxMembersInJoinReply),
                    memberCount: room.members.count,
                    history: since.map { since in room.history.filter { $0.seq > since } } ?? Array(room.history),
                    complete: since.map { $0 >= room.lastDroppedMessageSeq },
                    repeated: true,
                    token: issued.token
                )
            }
            let event: RoomEvent
            if room.isNameTaken(key: key) {
                var found = room.disconnectedMember(key: key)
                if found == nil, let index = room.connectedMember(key: key),
                    Self.mayTakeOver(room.members[index], token: token, isGone: isGone)
                {
                    let old = room.members[index].connection
                    _ = room.markDisconnected(old, now: now.monotonic)
                    supplanted = old
                    found = index
                }
                guard let index = found else {
                    throw ChatError(.nameInUse, "the name \(name) is already used in room \(roomName); pick another")
                }
                // A resume: the kept membership moves to this connection; its grace entry lapses.
                _ = room.replace(at: index, with: connection, client: client)
                let kept = room.members[index].name
                previousPid = room.members[index].pid
                let seq = room.nextSeq()
                room.attach(at: index, pid: pid, seq: seq)
                room.setToken(issued.hash, at: index)
                event = .resumed(
                    room: roomName,
                    seq: seq,
                    name: kept,
                    count: room.members.count,
                    connection: connection
                )
            } else {
                if room.members.count >= maxMembers {
                    // Full: the member disconnected longest ago makes room, if there is one.
                    guard let oldest = room.removeOldestDisconnected(now: now.monotonic) else { return nil }
                    evicted = oldest
                    // Numbered before the join: the others see the old member leave, then the new one come.
                    madeRoom = .left(
                        room: roomName,
                        seq: room.nextSeq(),
                        name: oldest.name,
                        count: room.members.count,
                        connection: oldest.connection
                    )
                }
                let seq = room.nextSeq()
                room.add(
                    Room.Member(
                        connection: connection,
                        name: name,
                        pid: pid,
                        joinSeq: seq,
                        client: client,
                        token: issued.hash
                    )
                )
                event = .joined(room: roomName, seq: seq, name: name, count: room.members.count, connection: connection)
            }
            var history = Array(room.history)
            var complete: Bool?
            if let since {
                // Numbered past the room's last event (before this join), `since` is from an earlier room
                // of the same name: what it saw is unknown, so it gets the whole kept history.
                let known = since < event.seq
                if known { history = history.filter { $0.seq > since } }
                complete = known && since >= room.lastDroppedMessageSeq
            }
            var result = JoinResult(
                event: event,
                members: room.memberNames(limit: Self.maxMembersInJoinReply),
                memberCount: room.members.count,
                history: history,
                complete: complete,
                token: issued.token
            )
            result.madeRoom = madeRoom
            result.supplanted = supplanted
            return result
        }
        guard let result else {
            throw ChatError(.tooManyRooms, "room \(roomName) is full (\(maxMembers) members)", limit: .membersPerRoom)
        }
        memberships.insert(roomName, for: connection)
        if let supplanted { memberships.remove(roomName, for: supplanted) }
        unindex(session: previousPid, room: roomName)
        if let evicted { unindex(session: evicted.pid, room: roomName) }
        index(session: pid, room: roomName)
        return result
    }

    /// Whether a join may take over the still connected `member`: with its resume token, at once; by
    /// name and password only when its connection is likely dead (`isGone`: its gateway's connection
    /// closed, or the gateway fell silent).
    static func mayTakeOver(_ member: Room.Member, token: String, isGone: (ConnectionKey) -> Bool) -> Bool {
        if !token.isEmpty, let kept = member.token, kept.matches(token) { return true }
        return isGone(member.connection)
    }

    /// Removes `connection` from `room`.
    public mutating func leave(
        room rawRoom: String,
        by connection: ConnectionKey,
        now: BrokerClock
    ) throws(ChatError) -> RoomEvent {
        let roomName = try FieldValidator.room(rawRoom)
        guard rooms[roomName] != nil else { throw noSuchRoom(roomName) }
        guard let event = remove(connection, from: roomName, now: now) else {
            throw ChatError(.notMember, "you are not in room \(roomName)")
        }
        return event
    }

    // MARK: Internals

    /// Refuses a caller over its own limits, then checks the password. Only the caller's connection and
    /// address are limited: no count of other people's failures can refuse a right password.
    mutating func checkPassword(
        _ password: String,
        room roomName: String,
        by connection: ConnectionKey,
        client: String,
        now: BrokerClock
    ) throws(ChatError) {
        let keys = LimitKeys(connection: "conn:\(connection)", client: client.isEmpty ? nil : "client:\(client)")
        try Self.refuseIfBlocked(failuresByConnection, failuresByClient, keys, now: now) { perAddress, wait in
            perAddress
                ? ChatError(
                    .tooManyAttempts,
                    "too many wrong passwords from your address; wait \(wait) s and try again",
                    limit: .wrongPasswordsPerAddress
                )
                : ChatError(
                    .tooManyAttempts,
                    "too many wrong passwords; wait \(wait) s and try again",
                    limit: .wrongPasswordsPerConnection
                )
        }
        guard let room = rooms[roomName] else { throw noSuchRoom(roomName) }
        guard room.passwordHash.matches(password) else {
            Self.record(&failuresByConnection, &failuresByClient, keys, now: now)
            throw ChatError(.wrongPassword, "wrong password for room \(roomName)")
        }
    }

    /// A caller's keys in a pair of limiters: its connection's, and its address's (nil: no address,
    /// as for commands of the broker's own tests and tools).
    struct LimitKeys {
        var connection: String
        var client: String?
    }

    /// Refuses a caller whose connection or address is over its limit (`refusal` gets which one and
    /// the seconds to wait). Only the caller's own keys count: nobody else's attempts can refuse it.
    static func refuseIfBlocked(
        _ byConnection: AttemptLimiter,
        _ byClient: AttemptLimiter,
        _ keys: LimitKeys,
        now: BrokerClock,
        refusal: (_ perAddress: Bool, _ waitSeconds: UInt64) -> ChatError
    ) throws(ChatError) {
        if byConnection.isBlocked(keys.connection, now: now.monotonic) {
            throw refusal(false, seconds(byConnection.retryAfter(keys.connection, now: now.monotonic)))
        }
        if let client = keys.client, byClient.isBlocked(client, now: now.monotonic) {
            throw refusal(true, seconds(byClient.retryAfter(client, now: now.monotonic)))
        }
    }

    /// Counts an attempt against the caller's connection and address.
    static func record(
        _ byConnection: inout AttemptLimiter,
        _ byClient: inout AttemptLimiter,
        _ keys: LimitKeys,
        now: BrokerClock
    ) {
        byConnection.record(keys.connection, now: now.monotonic)
        if let client = keys.client { byClient.record(client, now: now.monotonic) }
    }

    mutating func remove(_ connection: ConnectionKey, from roomName: String, now: BrokerClock) -> RoomEvent? {
        var pid = ""
        let event = try? update(roomName) { room throws(ChatError) -> RoomEvent? in
            guard let member = room.remove(connection, now: now.monotonic) else { return nil }
            pid = member.pid
            let seq = room.nextSeq()
            return .left(room: roomName, seq: seq, name: member.name, count: room.members.count, connection: connection)
        }
        unindex(session: pid, room: roomName)
        guard let event else { return nil }
        memberships.remove(roomName, for: connection)
        return event
    }
}
