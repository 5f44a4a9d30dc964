import ChatWire

/// Every room, member and password of the broker, as plain state driven by commands.
///
/// The registry knows nothing of sockets or encodings: it validates, decides and returns the
/// ``RoomEvent``s that must be broadcast. Every method takes the current time in ms, so tests
/// control the clock.
public struct RoomRegistry: Sendable {
    /// The sizes and limits in force.
    public let configuration: RoomRegistryConfiguration
    /// The rooms by name.
    public private(set) var rooms: [String: Room] = [:]
    /// Rooms each connection is a member of, for disconnect clean-up.
    private var roomsByConnection: [ConnectionKey: Set<String>] = [:]
    private var failuresByConnection: AttemptLimiter
    private var failuresByClient: AttemptLimiter
    private var failuresByRoom: AttemptLimiter
    private var createsByConnection: AttemptLimiter
    private var createsByClient: AttemptLimiter

    /// An empty registry.
    public init(configuration: RoomRegistryConfiguration = .init()) {
        self.configuration = configuration
        failuresByConnection = AttemptLimiter(limit: configuration.failuresPerConnection, windowMilliseconds: configuration.limitWindowMilliseconds)
        failuresByClient = AttemptLimiter(limit: configuration.failuresPerClient, windowMilliseconds: configuration.limitWindowMilliseconds)
        failuresByRoom = AttemptLimiter(limit: configuration.failuresPerRoom, windowMilliseconds: configuration.limitWindowMilliseconds)
        createsByConnection = AttemptLimiter(limit: configuration.createsPerConnection, windowMilliseconds: configuration.limitWindowMilliseconds)
        createsByClient = AttemptLimiter(limit: configuration.createsPerClient, windowMilliseconds: configuration.limitWindowMilliseconds)
    }

    /// What a successful join returns to the joining member.
    public struct JoinResult: Equatable, Sendable {
        /// The joined event, to broadcast to the other members.
        public var event: RoomEvent
        /// Member names after the join, in join order.
        public var members: [String]
        /// The last messages, oldest first.
        public var history: [ChatMessage]
        /// The sequence number of the joined event; the member receives every later event.
        public var seq: UInt64 { event.seq }
    }

    /// Creates a room named `requestedRoom` (or a generated name when empty) for `creatorName` on
    /// `connection` from address `client`. Returns the room name and its plaintext password, which is
    /// not kept.
    public mutating func create(
        requestedRoom: String, creatorName: String, by connection: ConnectionKey, client: String = "", now: UInt64
    ) throws(ChatError) -> (room: String, password: String) {
        _ = try FieldValidator.name(creatorName)
        let rateKey = "create:\(connection)"
        let clientKey = "create:\(client)"
        guard !createsByConnection.isBlocked(rateKey, now: now) else {
            throw ChatError(.rateLimited, "too many rooms created; wait \(seconds(createsByConnection.retryAfter(rateKey, now: now))) s and try again")
        }
        guard client.isEmpty || !createsByClient.isBlocked(clientKey, now: now) else {
            throw ChatError(.rateLimited, "too many rooms created from your address; wait \(seconds(createsByClient.retryAfter(clientKey, now: now))) s and try again")
        }
        guard rooms.count < configuration.maxRooms else {
            throw ChatError(.tooManyRooms, "the server holds its maximum of \(configuration.maxRooms) rooms; try again later")
        }
        let room: String
        if requestedRoom.trimmingWhitespace().isEmpty {
            var generator = SystemRandomNumberGenerator()
            room = RoomNameGenerator.generate(using: &generator) { rooms[$0] != nil }
        } else {
            room = try FieldValidator.room(requestedRoom)
            guard rooms[room] == nil else { throw ChatError(.roomExists, "room \(room) already exists; pick another name") }
        }
        createsByConnection.record(rateKey, now: now)
        if !client.isEmpty { createsByClient.record(clientKey, now: now) }
        let password = PasswordGenerator.generate()
        rooms[room] = Room(
            name: room, passwordHash: PasswordHash(password: password), created: now,
            historySize: configuration.historySize, replaySize: configuration.replaySize)
        return (room, password)
    }

    /// Adds `connection` (from address `client`) to `room` as `name` if `password` opens it.
    public mutating func join(
        room rawRoom: String, password: String, name rawName: String, by connection: ConnectionKey, client: String = "", now: UInt64
    ) throws(ChatError) -> JoinResult {
        let roomName = try FieldValidator.room(rawRoom)
        let name = try FieldValidator.name(rawName)
        _ = try FieldValidator.password(password)
        try checkPassword(password, room: roomName, by: connection, client: client, now: now)
        let maxMembers = configuration.maxMembersPerRoom
        let result = try update(roomName) { room throws(ChatError) -> JoinResult in
            guard room.member(on: connection) == nil else {
                throw ChatError(.badRequest, "this connection is already in room \(roomName)")
            }
            guard !room.isNameTaken(name) else {
                throw ChatError(.nameInUse, "the name \(name) is already used in room \(roomName); pick another")
            }
            guard room.members.count < maxMembers else {
                throw ChatError(.tooManyRooms, "room \(roomName) is full (\(maxMembers) members)")
            }
            room.add(Room.Member(connection: connection, name: name))
            let seq = room.nextSeq()
            let members = room.memberNames
            return JoinResult(
                event: .joined(room: roomName, seq: seq, name: name, members: members, connection: connection),
                members: members, history: Array(room.history))
        }
        roomsByConnection[connection, default: []].insert(roomName)
        return result
    }

    /// Removes `connection` from `room`.
    public mutating func leave(room rawRoom: String, by connection: ConnectionKey, now: UInt64) throws(ChatError) -> RoomEvent {
        let roomName = try FieldValidator.room(rawRoom)
        guard rooms[roomName] != nil else { throw noSuchRoom(roomName) }
        guard let event = remove(connection, from: roomName, now: now) else {
            throw ChatError(.notMember, "you are not in room \(roomName)")
        }
        return event
    }

    /// Adds a message from member `connection` to `room`.
    public mutating func message(room rawRoom: String, text rawText: String, by connection: ConnectionKey, now: UInt64) throws(ChatError) -> RoomEvent {
        let roomName = try FieldValidator.room(rawRoom)
        let text = try FieldValidator.text(rawText)
        return try update(roomName) { room throws(ChatError) -> RoomEvent in
            guard let member = room.member(on: connection) else {
                throw ChatError(.notMember, "join room \(roomName) before sending to it")
            }
            let message = ChatMessage(seq: room.nextSeq(), name: member.name, text: text, timestamp: now)
            room.appendHistory(message)
            return .message(room: roomName, message: message, connection: connection)
        }
    }

    /// Adds a message to `room` from a non-member who proves the password (the HTTP API).
    public mutating func post(
        room rawRoom: String, password: String, name rawName: String, text rawText: String, by connection: ConnectionKey,
        client: String = "", now: UInt64
    ) throws(ChatError) -> RoomEvent {
        let roomName = try FieldValidator.room(rawRoom)
        let name = try FieldValidator.name(rawName)
        let text = try FieldValidator.text(rawText)
        _ = try FieldValidator.password(password)
        try checkPassword(password, room: roomName, by: connection, client: client, now: now)
        return try update(roomName) { room in
            let message = ChatMessage(seq: room.nextSeq(), name: name, text: text, timestamp: now)
            room.appendHistory(message)
            return .message(room: roomName, message: message, connection: nil)
        }
    }

    /// Removes `connection` from every room it was in.
    public mutating func disconnect(_ connection: ConnectionKey, now: UInt64) -> [RoomEvent] {
        let names = roomsByConnection[connection] ?? []
        return names.sorted().compactMap { remove(connection, from: $0, now: now) }
    }

    /// Removes every member connected through `gateway` (it restarted or went silent).
    public mutating func dropGateway(_ gateway: String, now: UInt64) -> [RoomEvent] {
        let connections = roomsByConnection.keys.filter { $0.gateway == gateway }
        return connections.sorted { $0.connectionID < $1.connectionID }.flatMap { disconnect($0, now: now) }
    }

    /// Deletes rooms that have been empty longer than the grace period; returns their names.
    public mutating func expireEmptyRooms(now: UInt64) -> [String] {
        let grace = configuration.emptyRoomGraceMilliseconds
        let expired = rooms.values.filter { room in
            guard let since = room.emptySince else { return false }
            return now >= since && now - since >= grace
        }.map(\.name).sorted()
        for name in expired { rooms[name] = nil }
        failuresByConnection.purge(now: now)
        failuresByClient.purge(now: now)
        failuresByRoom.purge(now: now)
        createsByConnection.purge(now: now)
        createsByClient.purge(now: now)
        return expired
    }

    /// The rooms for the room picker, oldest first.
    public func summaries() -> [RoomSummary] {
        rooms.values
            .map { RoomSummary(room: $0.name, members: $0.members.count, created: $0.created) }
            .sorted { ($0.created, $0.room) < ($1.created, $1.room) }
    }

    /// Keeps the encoded form of broadcast `seq` of `room` for replays.
    public mutating func recordBroadcast(room: String, seq: UInt64, payload: [UInt8]) {
        rooms[room]?.recordBroadcast(seq: seq, payload: payload)
    }

    /// The kept broadcasts of `room` numbered `from...to`, or why they cannot be given.
    public func replay(room roomName: String, from: UInt64, to: UInt64) throws(ChatError) -> [Room.RecentBroadcast] {
        guard let room = rooms[roomName] else { throw noSuchRoom(roomName) }
        guard from <= to, to <= room.lastSeq else {
            throw ChatError(.badRequest, "replay range \(from)...\(to) is outside 1...\(room.lastSeq)")
        }
        let kept = room.recentBroadcasts.filter { $0.seq >= from && $0.seq <= to }
        guard kept.first?.seq == from, kept.count == Int(to - from + 1) else {
            throw ChatError(.replayUnavailable, "events \(from)...\(to) of room \(roomName) are no longer kept")
        }
        return kept
    }

    private mutating func checkPassword(
        _ password: String, room roomName: String, by connection: ConnectionKey, client: String, now: UInt64
    ) throws(ChatError) {
        let connectionKey = "conn:\(connection)"
        let clientKey = "client:\(client)"
        let roomKey = "room:\(roomName)"
        if failuresByConnection.isBlocked(connectionKey, now: now) {
            throw ChatError(.tooManyAttempts, "too many wrong passwords; wait \(seconds(failuresByConnection.retryAfter(connectionKey, now: now))) s and try again")
        }
        if !client.isEmpty, failuresByClient.isBlocked(clientKey, now: now) {
            throw ChatError(.tooManyAttempts, "too many wrong passwords from your address; wait \(seconds(failuresByClient.retryAfter(clientKey, now: now))) s and try again")
        }
        if failuresByRoom.isBlocked(roomKey, now: now) {
            throw ChatError(.tooManyAttempts, "too many wrong passwords for room \(roomName); wait \(seconds(failuresByRoom.retryAfter(roomKey, now: now))) s and try again")
        }
        guard let room = rooms[roomName] else { throw noSuchRoom(roomName) }
        guard room.passwordHash.matches(password) else {
            failuresByConnection.record(connectionKey, now: now)
            if !client.isEmpty { failuresByClient.record(clientKey, now: now) }
            failuresByRoom.record(roomKey, now: now)
            throw ChatError(.wrongPassword, "wrong password for room \(roomName)")
        }
    }

    private mutating func remove(_ connection: ConnectionKey, from roomName: String, now: UInt64) -> RoomEvent? {
        let event = try? update(roomName) { room throws(ChatError) -> RoomEvent? in
            guard let member = room.remove(connection, now: now) else { return nil }
            let seq = room.nextSeq()
            return .left(room: roomName, seq: seq, name: member.name, members: room.memberNames, connection: connection)
        }
        guard let event else { return nil }
        roomsByConnection[connection]?.remove(roomName)
        if roomsByConnection[connection]?.isEmpty == true { roomsByConnection[connection] = nil }
        return event
    }

    /// Mutates room `name` in place (no copy of its members or history), or throws `no_such_room`.
    private mutating func update<Result>(_ name: String, _ body: (inout Room) throws(ChatError) -> Result) throws(ChatError) -> Result {
        guard let index = rooms.index(forKey: name) else { throw noSuchRoom(name) }
        return try body(&rooms.values[index])
    }

    private func noSuchRoom(_ room: String) -> ChatError {
        ChatError(.noSuchRoom, "no room named \(room); check the name or create it")
    }

    private func seconds(_ milliseconds: UInt64) -> UInt64 {
        (milliseconds + 999) / 1000
    }
}
