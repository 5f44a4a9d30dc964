import ChatWire
import SocketIO

/// Every room, member and password of the broker, as plain state driven by commands.
///
/// The registry knows nothing of sockets or encodings: it validates, decides and returns the
/// ``RoomEvent``s that must be broadcast. Every method takes the time as a ``BrokerClock``, so tests
/// control both clocks; limits and expiry use its monotonic reading, `created` and `ts` its wall one.
public struct RoomRegistry: Sendable, Codable {
    /// Most member names a join reply lists (the first ones, in join order); it always gives the count.
    public static let maxMembersInJoinReply = 200
    /// Most rooms one page of the room list holds, and how many a page without a limit holds.
    public static let maxPageSize = 200
    /// Rooms on a page when the request gives no limit.
    public static let defaultPageSize = 100
    /// How often idle rate-limit keys and create keys are purged, ms.
    static let purgeIntervalMilliseconds: UInt64 = 10_000

    /// The sizes and limits in force.
    public let configuration: RoomRegistryConfiguration
    /// The rooms by name.
    public private(set) var rooms: [String: Room] = [:]
    /// The room names in sorted order, for the paged room list.
    private var sortedNames: [String] = []
    /// Rooms each connection is a connected member of, for disconnect clean-up, counted per gateway.
    private var memberships = MembershipIndex()
    /// The rooms (sorted) of each Socket.IO session with connection-state recovery, by its private id.
    private var roomsBySession: [String: [String]] = [:]
    /// The broker-wide number of the last room event (over all rooms): the offset clients resume from.
    public private(set) var gseq: UInt64 = 0
    /// Memberships whose connection dropped, in the order they did, until their session grace ends.
    private var inGrace = FIFOQueue<GraceEntry>()
    /// Live rooms per creator address key.
    private var roomsByCreator: [String: Int] = [:]
    private var failuresByConnection: AttemptLimiter
    private var failuresByClient: AttemptLimiter
    private var createsByConnection: AttemptLimiter
    private var createsByClient: AttemptLimiter
    private var createKeys = CreateKeys()
    private var ledger = StorageLedger()
    private var nextIncarnation: UInt64 = 1
    private var lastPurge: UInt64 = 0
    /// The limit that refused the last refused command, until ``takeLastLimit()`` reads it.
    private var lastLimit: RateLimit?
    /// Members the last disconnects kept for the session grace, until ``takeAway()`` reads them.
    private var away: [AwayMember] = []
    /// An entropy source whose draws a standby can replay (``ReplayableRandom``).
    public var random = ReplayableRandom()

    /// An empty registry.
    public init(configuration: RoomRegistryConfiguration = .init()) {
        self.configuration = configuration
        let window = configuration.limitWindowMilliseconds
        failuresByConnection = AttemptLimiter(limit: configuration.failuresPerConnection, windowMilliseconds: window)
        failuresByClient = AttemptLimiter(limit: configuration.failuresPerClient, windowMilliseconds: window)
        createsByConnection = AttemptLimiter(limit: configuration.createsPerConnection, windowMilliseconds: window)
        createsByClient = AttemptLimiter(limit: configuration.createsPerClient, windowMilliseconds: window)
    }

    /// What a successful create returns to the creator.
    public struct CreateResult: Equatable, Sendable {
        /// The room's name.
        public var room: String
        /// Its plaintext password, which is not kept.
        public var password: String
        /// True when this answers a retry with the same idempotency key (a new password for the same,
        /// still empty room: the first was never seen).
        public var repeated: Bool
    }

    /// A membership kept after its connection dropped.
    private struct GraceEntry: Sendable, Codable {
        var room: String
        var connection: ConnectionKey
        /// When it dropped, monotonic ms.
        var since: UInt64
    }

    /// What a successful join returns to the joining member.
    public struct JoinResult: Equatable, Sendable {
        /// The joined event (or ``RoomEvent/resumed(room:seq:name:count:connection:)`` when the join took
        /// over a disconnected member), to broadcast to the other members.
        public var event: RoomEvent
        /// The first ``RoomRegistry/maxMembersInJoinReply`` member names after the join, in join order.
        public var members: [String]
        /// How many members the room has after the join.
        public var memberCount: Int
        /// The last messages, oldest first (with `since`: the kept ones numbered after it).
        public var history: [ChatMessage]
        /// With `since`: whether `history` holds every message numbered after it; nil without.
        public var complete: Bool?
        /// True when the connection was a member already under that name (a retried join): nothing
        /// changed and `event` is not to be broadcast; its seq is the room's last.
        public var repeated = false
        /// The sequence number of the joined event; the member receives every later event.
        public var seq: UInt64 { event.seq }
    }

    /// Bytes of history and replay kept over all rooms (bounded by `memoryBudget`).
    public var storedBytes: Int { ledger.totalBytes }

    /// Connected members over all rooms (disconnected ones in their session grace not counted).
    public var connectedMembers: Int { memberships.total }

    /// Connected members by the gateway they are connected through (gateways without any left out).
    public var connectedMembersByGateway: [String: Int] { memberships.countsByGateway }

    /// Members over all rooms, disconnected ones kept for their session grace included: O(rooms).
    public var memberCount: Int { rooms.values.reduce(0) { $0 + $1.members.count } }

    /// The rooms and names of the members that disconnects since the last call kept for the
    /// session grace (for the log: one line each).
    public mutating func takeAway() -> [AwayMember] {
        defer { away = [] }
        return away
    }

    /// The limit behind the last `too_many_attempts` or `rate_limited` refusal, read once (for the log).
    public mutating func takeLastLimit() -> RateLimit? {
        defer { lastLimit = nil }
        return lastLimit
    }

    // MARK: Commands

    /// Creates a room named `requestedRoom` (or a generated name when empty) for `creatorName` on
    /// `connection` from address key `client`. Returns the room name and its plaintext password, which
    /// is not kept. A repeat of a non-empty `key` from the same `client` within 2 minutes answers with
    /// the same room and a new password while the room has no members, and `room_exists` after.
    public mutating func create(
        requestedRoom: String, creatorName: String, key rawKey: String = "", by connection: ConnectionKey,
        client: String = "", now: BrokerClock
    ) throws(ChatError) -> CreateResult {
        _ = try FieldValidator.name(creatorName)
        let key = try FieldValidator.key(rawKey)
        // An empty (or blank) room name asks the broker to pick one.
        let blank = requestedRoom.utf8.count <= FieldValidator.maxRoomLength && requestedRoom.trimmingWhitespace().isEmpty
        let requested = blank ? "" : try FieldValidator.room(requestedRoom)
        if !key.isEmpty, let previous = createKeys.room(client: client, key: key, now: now.monotonic) {
            guard let index = rooms.index(forKey: previous), rooms.values[index].members.isEmpty else {
                throw ChatError(.roomExists, "room \(previous) was already created with this id and is in use; create another room")
            }
            let password = PasswordGenerator.generate(using: &random)
            rooms.values[index].replacePassword(PasswordHash(password: password, using: &random))
            return CreateResult(room: previous, password: password, repeated: true)
        }
        let rateKey = "create:\(connection)"
        let clientKey = "create:\(client)"
        if createsByConnection.isBlocked(rateKey, now: now.monotonic) {
            throw limited(.createsPerConnection, ChatError(.rateLimited, "too many rooms created; wait \(seconds(createsByConnection.retryAfter(rateKey, now: now.monotonic))) s and try again"))
        }
        if !client.isEmpty, createsByClient.isBlocked(clientKey, now: now.monotonic) {
            throw limited(.createsPerAddress, ChatError(.rateLimited, "too many rooms created from your address; wait \(seconds(createsByClient.retryAfter(clientKey, now: now.monotonic))) s and try again"))
        }
        if !client.isEmpty, roomsByCreator[client, default: 0] >= configuration.roomsPerClient {
            throw limited(.roomsPerAddress, ChatError(.rateLimited, "your address already has \(configuration.roomsPerClient) rooms; one is freed 5 minutes after its last member leaves"))
        }
        guard rooms.count < configuration.maxRooms else {
            throw limited(.maxRooms, ChatError(.tooManyRooms, "the server holds its maximum of \(configuration.maxRooms) rooms; try again later"))
        }
        let room: String
        if requested.isEmpty {
            let taken = rooms
            guard let generated = RoomNameGenerator.generate(using: &random, in: configuration.shard, isTaken: { taken[$0] != nil }) else {
                throw ChatError(.internalError, "no free room name of this broker's shard \(configuration.shard) was found; try again, or name the room")
            }
            room = generated
        } else {
            room = requested
            guard rooms[room] == nil else { throw ChatError(.roomExists, "room \(room) already exists; pick another name") }
        }
        createsByConnection.record(rateKey, now: now.monotonic)
        if !client.isEmpty {
            createsByClient.record(clientKey, now: now.monotonic)
            roomsByCreator[client, default: 0] += 1
        }
        if !key.isEmpty { createKeys.record(client: client, key: key, room: room, now: now.monotonic) }
        let password = PasswordGenerator.generate(using: &random)
        rooms[room] = Room(
            name: room, incarnation: nextIncarnation, creator: client, passwordHash: PasswordHash(password: password, using: &random),
            now: now, configuration: configuration)
        nextIncarnation += 1
        sortedNames.insert(room, at: insertionIndex(of: room))
        return CreateResult(room: room, password: password, repeated: false)
    }

    /// Adds `connection` (from address key `client`) to `room` as `name` if `password` opens it. A
    /// disconnected member of that name (``FieldValidator/nameKey(_:)``) is taken over instead (a resume).
    /// With `since` (the last seq the client saw), the history is the kept messages numbered after it.
    /// `pid` (not empty with connection-state recovery) is the connection's Socket.IO session.
    /// A member still counted as connected whose gateway `isGone` (it fell silent: likely dead) is taken
    /// over like a disconnected one, rather than refusing the name until the gateway timeout.
    public mutating func join(
        room rawRoom: String, password: String, name rawName: String, since: UInt64? = nil, pid rawPid: String = "",
        by connection: ConnectionKey, client: String = "", now: BrokerClock, isGone: (ConnectionKey) -> Bool = { _ in false }
    ) throws(ChatError) -> JoinResult {
        let roomName = try FieldValidator.room(rawRoom)
        let name = try FieldValidator.name(rawName)
        _ = try FieldValidator.password(password)
        let pid = try Self.sessionID(rawPid, allowEmpty: true)
        try checkPassword(password, room: roomName, by: connection, client: client, now: now)
        let maxMembers = configuration.maxMembersPerRoom
        var previousPid = ""
        var supplanted: ConnectionKey?
        let result = try update(roomName) { room throws(ChatError) -> JoinResult? in
            if let existing = room.memberName(on: connection) {
                // A retried join (the gateway resends commands after a broker failover): the same name
                // succeeds again without a second event; another name is a client error.
                guard FieldValidator.nameKey(existing) == FieldValidator.nameKey(name) else {
                    throw ChatError(.badRequest, "this connection is already in room \(roomName)")
                }
                return JoinResult(
                    event: .joined(room: roomName, seq: room.lastSeq, name: existing, count: room.members.count, connection: connection),
                    members: room.memberNames(limit: Self.maxMembersInJoinReply), memberCount: room.members.count,
                    history: since.map { since in room.history.filter { $0.seq > since } } ?? Array(room.history),
                    complete: since.map { $0 >= room.lastDroppedMessageSeq }, repeated: true)
            }
            let event: RoomEvent
            if room.isNameTaken(name) {
                var found = room.disconnectedMember(named: name)
                if found == nil, let index = room.connectedMember(named: name), isGone(room.members[index].connection) {
                    let old = room.members[index].connection
                    _ = room.markDisconnected(old, now: now.monotonic)
                    supplanted = old
                    found = index
                }
                guard let index = found else {
                    throw ChatError(.nameInUse, "the name \(name) is already used in room \(roomName); pick another")
                }
                // A resume: the kept membership moves to this connection; its grace entry lapses.
                _ = room.replace(at: index, with: connection)
                let kept = room.members[index].name
                previousPid = room.members[index].pid
                let seq = room.nextSeq()
                room.attach(at: index, pid: pid, seq: seq)
                event = .resumed(room: roomName, seq: seq, name: kept, count: room.members.count, connection: connection)
            } else {
                guard room.members.count < maxMembers else { return nil }
                let seq = room.nextSeq()
                room.add(Room.Member(connection: connection, name: name, pid: pid, joinSeq: seq))
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
            return JoinResult(
                event: event, members: room.memberNames(limit: Self.maxMembersInJoinReply), memberCount: room.members.count,
                history: history, complete: complete)
        }
        guard let result else {
            throw limited(.membersPerRoom, ChatError(.tooManyRooms, "room \(roomName) is full (\(maxMembers) members)"))
        }
        memberships.insert(roomName, for: connection)
        if let supplanted { memberships.remove(roomName, for: supplanted) }
        unindex(session: previousPid, room: roomName)
        index(session: pid, room: roomName)
        return result
    }

    /// Connection-state recovery: moves every membership of Socket.IO session `pid` (disconnected, or
    /// still on an old connection) to `connection`, and returns the kept events its client missed: those
    /// after the membership's join and after `since` (the last broker-wide gseq the client saw; nil:
    /// none since it joined), but for the session's own `resumed` events, merged in gseq order. All or
    /// nothing: throws `replay_unavailable` (and changes nothing) when the session is unknown, when one
    /// missed event is no longer kept, or when they exceed `maxBytes`. A repeat from the same connection
    /// answers the same way without new `resumed` events.
    public mutating func resume(
        pid rawPid: String, since: UInt64?, by connection: ConnectionKey, now: BrokerClock, maxBytes: Int = .max
    ) throws(ChatError) -> ResumeResult {
        let pid = try Self.sessionID(rawPid, allowEmpty: false)
        guard let names = roomsBySession[pid], !names.isEmpty else {
            throw ChatError(.replayUnavailable, "no session to recover (it ended, or it had no rooms); join your rooms again")
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
                throw ChatError(.replayUnavailable, "events of room \(name) after your offset are no longer kept; join it again")
            }
            for event in events { bytes += event.payload.count + 20 }
            guard bytes <= maxBytes else {
                throw ChatError(.replayUnavailable, "too many events were missed to replay them; join your rooms again")
            }
            missed += events
        }
        var positions: [WireReply.RoomPosition] = []
        var resumed: [RoomEvent] = []
        for name in names {
            guard let roomIndex = rooms.index(forKey: name), let index = rooms.values[roomIndex].member(ofSession: pid) else { continue }
            let member = rooms.values[roomIndex].members[index]
            if member.connection == connection, member.disconnectedSince == nil {
                positions.append(.init(room: name, seq: rooms.values[roomIndex].lastSeq))
                continue
            }
            let seq = rooms.values[roomIndex].nextSeq()
            let old = rooms.values[roomIndex].move(at: index, to: connection, seq: seq)
            memberships.remove(name, for: old)
            memberships.insert(name, for: connection)
            positions.append(.init(room: name, seq: seq))
            resumed.append(.resumed(
                room: name, seq: seq, name: member.name, count: rooms.values[roomIndex].members.count, connection: connection))
        }
        missed.sort { $0.gseq < $1.gseq }
        return ResumeResult(rooms: positions, events: resumed, missed: missed)
    }

    /// Removes `connection` from `room`.
    public mutating func leave(room rawRoom: String, by connection: ConnectionKey, now: BrokerClock) throws(ChatError) -> RoomEvent {
        let roomName = try FieldValidator.room(rawRoom)
        guard rooms[roomName] != nil else { throw noSuchRoom(roomName) }
        guard let event = remove(connection, from: roomName, now: now) else {
            throw ChatError(.notMember, "you are not in room \(roomName)")
        }
        return event
    }

    /// Adds a message from member `connection` to `room`; a repeat of a non-empty `key` among the
    /// room's last 1024 keys is not added again but answered with the first seq.
    public mutating func message(
        room rawRoom: String, text rawText: String, key rawKey: String = "", by connection: ConnectionKey, now: BrokerClock
    ) throws(ChatError) -> MessageOutcome {
        let roomName = try FieldValidator.room(rawRoom)
        let text = try FieldValidator.text(rawText)
        let key = try FieldValidator.key(rawKey)
        let added = try update(roomName) { room throws(ChatError) -> Added in
            guard let name = room.memberName(on: connection) else {
                throw ChatError(.notMember, "join room \(roomName) before sending to it")
            }
            return Self.append(ChatMessage(seq: 0, name: name, text: text, timestamp: now.wall), key: key, to: &room, from: connection)
        }
        return account(added)
    }

    /// Adds a message to `room` from a non-member who proves the password (the HTTP API); it is marked
    /// `via: http`. `key` as for ``message(room:text:key:by:now:)``.
    public mutating func post(
        room rawRoom: String, password: String, name rawName: String, text rawText: String, key rawKey: String = "",
        by connection: ConnectionKey, client: String = "", now: BrokerClock
    ) throws(ChatError) -> MessageOutcome {
        let roomName = try FieldValidator.room(rawRoom)
        let name = try FieldValidator.name(rawName)
        let text = try FieldValidator.text(rawText)
        let key = try FieldValidator.key(rawKey)
        _ = try FieldValidator.password(password)
        try checkPassword(password, room: roomName, by: connection, client: client, now: now)
        let added = try update(roomName) { room in
            Self.append(ChatMessage(seq: 0, name: name, text: text, timestamp: now.wall, via: .http), key: key, to: &room, from: nil)
        }
        return account(added)
    }

    /// The connection is gone: each of its memberships is kept as disconnected for the session grace
    /// (announced as left by ``expireSessions(now:)``), or removed at once when the grace is 0.
    public mutating func disconnect(_ connection: ConnectionKey, now: BrokerClock) -> [RoomEvent] {
        let names = memberships.rooms(of: connection).sorted()
        guard configuration.sessionGraceMilliseconds > 0 else {
            return names.compactMap { remove(connection, from: $0, now: now) }
        }
        memberships.removeAll(for: connection)
        for name in names {
            guard let index = rooms.index(forKey: name),
                  let member = rooms.values[index].markDisconnected(connection, now: now.monotonic)
            else { continue }
            inGrace.append(GraceEntry(room: name, connection: connection, since: now.monotonic))
            away.append(AwayMember(room: name, name: member.name))
        }
        return []
    }

    /// Members disconnected (and not resumed) for the whole session grace leave now: their `left` events.
    public mutating func expireSessions(now: BrokerClock) -> [RoomEvent] {
        let grace = configuration.sessionGraceMilliseconds
        var events: [RoomEvent] = []
        while let entry = inGrace.first, now.monotonic >= entry.since, now.monotonic - entry.since >= grace {
            _ = inGrace.popFirst()
            var pid = ""
            let event = try? update(entry.room) { room throws(ChatError) -> RoomEvent? in
                guard let member = room.removeDisconnected(entry.connection, before: entry.since, now: now.monotonic) else { return nil }
                pid = member.pid
                return .left(room: entry.room, seq: room.nextSeq(), name: member.name, count: room.members.count, connection: entry.connection)
            }
            unindex(session: pid, room: entry.room)
            if let event { events.append(event) }
        }
        return events
    }

    /// Memberships kept as disconnected, waiting for a resume or the end of their grace (an upper bound:
    /// resumed ones count until their grace would have ended).
    public var sessionsInGrace: Int { inGrace.count }

    /// Disconnects every member connected through `gateway` (it restarted or went silent): they are
    /// kept for the session grace like any dropped connection.
    public mutating func dropGateway(_ gateway: String, now: BrokerClock) -> [RoomEvent] {
        let connections = memberships.connections.filter { $0.gateway == gateway }
        return connections.sorted { $0.connectionID < $1.connectionID }.flatMap { disconnect($0, now: now) }
    }

    /// Deletes rooms that have been empty longer than the grace period; returns their names.
    public mutating func expireEmptyRooms(now: BrokerClock) -> [String] {
        let grace = configuration.emptyRoomGraceMilliseconds
        let expired = rooms.values.filter { room in
            guard let since = room.emptySince else { return false }
            return now.monotonic >= since && now.monotonic - since >= grace
        }.map(\.name).sorted()
        for name in expired { removeRoom(name) }
        if now.monotonic - lastPurge >= Self.purgeIntervalMilliseconds || now.monotonic < lastPurge {
            lastPurge = now.monotonic
            failuresByConnection.purge(now: now.monotonic)
            failuresByClient.purge(now: now.monotonic)
            createsByConnection.purge(now: now.monotonic)
            createsByClient.purge(now: now.monotonic)
            createKeys.purge(now: now.monotonic)
        }
        return expired
    }

    /// At most `limit` rooms (1–200; 0 means 100) whose names sort after `after` ("" for the first
    /// page), sorted by name, and the cursor of the next page.
    public func page(after rawAfter: String, limit: Int) throws(ChatError) -> RoomListPage {
        let after = rawAfter.isEmpty ? "" : try FieldValidator.room(rawAfter)
        guard limit >= 0, limit <= Self.maxPageSize else {
            throw ChatError(.badRequest, "limit must be between 1 and \(Self.maxPageSize)")
        }
        let size = limit == 0 ? Self.defaultPageSize : limit
        let start = after.isEmpty ? 0 : upperBound(of: after)
        let end = min(sortedNames.count, start + size)
        let names = sortedNames[start..<end]
        let summaries = names.compactMap { name in
            rooms[name].map { RoomListPage.Entry(room: $0.name, members: $0.members.count, created: $0.created) }
        }
        return RoomListPage(rooms: summaries, next: end < sortedNames.count ? names.last : nil)
    }

    /// Numbers broadcast `seq` of `room` with the next broker-wide gseq, which it returns, and keeps its
    /// encoded form for replays and resumes.
    public mutating func recordBroadcast(room roomName: String, seq: UInt64, payload: [UInt8]) -> UInt64 {
        gseq += 1
        guard let index = rooms.index(forKey: roomName) else { return gseq }
        let released = rooms.values[index].recordBroadcast(seq: seq, gseq: gseq, payload: payload)
        let entry = StorageLedger.Entry(room: roomName, incarnation: rooms.values[index].incarnation, store: .replay, seq: seq)
        keep(entry, bytes: payload.count + 32, released: released.count, releasedBytes: released.bytes)
        return gseq
    }

    /// The kept broadcasts of `room` from `from` on, up to `to` and at most about `maxBytes` of payload
    /// (always at least one): a prefix of the range, the caller asks again for the rest. Throws
    /// `replay_unavailable` when `from` is no longer kept.
    public func replay(room roomName: String, from: UInt64, to: UInt64, maxBytes: Int = .max) throws(ChatError) -> [Room.RecentBroadcast] {
        let roomName = try FieldValidator.room(roomName)
        guard let room = rooms[roomName] else { throw noSuchRoom(roomName) }
        guard from >= 1, from <= to, to <= room.lastSeq else {
            throw ChatError(.badRequest, "replay range \(from)...\(to) is outside 1...\(room.lastSeq)")
        }
        let kept = room.recentBroadcasts
        var offset = kept.firstOffset(atOrAfter: from)
        guard kept[offset]?.seq == from else {
            throw ChatError(.replayUnavailable, "events \(from)...\(to) of room \(roomName) are no longer kept")
        }
        var events: [Room.RecentBroadcast] = []
        var bytes = 0
        while let event = kept[offset], event.seq <= to {
            let size = event.payload.count + 12
            if !events.isEmpty, bytes + size > maxBytes { break }
            events.append(event)
            bytes += size
            offset += 1
        }
        return events
    }

    // MARK: Internals

    /// A message appended to a room, to account for in the ledger (or a repeat).
    private struct Added {
        var outcome: MessageOutcome
        var entry: StorageLedger.Entry?
        var bytes = 0
        var released = BudgetedQueue<ChatMessage>.Released()
    }

    private static func append(_ message: ChatMessage, key: String, to room: inout Room, from connection: ConnectionKey?) -> Added {
        if !key.isEmpty, let seq = room.messageKeys.seq(of: key) {
            return Added(outcome: .repeated(room: room.name, seq: seq))
        }
        var message = message
        message.seq = room.nextSeq()
        let released = room.appendHistory(message)
        if !key.isEmpty { room.recordKey(key, seq: message.seq) }
        return Added(
            outcome: .new(.message(room: room.name, message: message, connection: connection)),
            entry: StorageLedger.Entry(room: room.name, incarnation: room.incarnation, store: .history, seq: message.seq),
            bytes: message.byteCount, released: released)
    }

    private mutating func account(_ added: Added) -> MessageOutcome {
        if let entry = added.entry {
            keep(entry, bytes: added.bytes, released: added.released.count, releasedBytes: added.released.bytes)
        }
        return added.outcome
    }

    /// Accounts a newly kept element (and what its room dropped for it), then enforces the global budget.
    private mutating func keep(_ entry: StorageLedger.Entry, bytes: Int, released: Int, releasedBytes: Int) {
        ledger.released(count: released, bytes: releasedBytes)
        ledger.added(entry, bytes: bytes)
        while ledger.totalBytes > configuration.memoryBudget, let oldest = ledger.popOldest() {
            guard let index = rooms.index(forKey: oldest.room), rooms.values[index].incarnation == oldest.incarnation,
                  let bytes = rooms.values[index].dropOldest(of: oldest.store, ifSeq: oldest.seq)
            else { continue }
            ledger.released(count: 1, bytes: bytes)
        }
        let rooms = self.rooms
        ledger.compactIfNeeded { entry in
            guard let room = rooms[entry.room], room.incarnation == entry.incarnation else { return false }
            return room.keeps(entry.store, seq: entry.seq)
        }
    }

    private mutating func removeRoom(_ name: String) {
        guard let room = rooms.removeValue(forKey: name) else { return }
        let stored = room.stored
        ledger.released(count: stored.count, bytes: stored.bytes)
        let index = insertionIndex(of: name)
        if index < sortedNames.count, sortedNames[index] == name { sortedNames.remove(at: index) }
        if !room.creator.isEmpty, let count = roomsByCreator[room.creator] {
            roomsByCreator[room.creator] = count > 1 ? count - 1 : nil
        }
    }

    /// The index of the first sorted name not less than `name`.
    private func insertionIndex(of name: String) -> Int {
        var low = 0
        var high = sortedNames.count
        while low < high {
            let middle = (low + high) / 2
            if sortedNames[middle] < name { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The index of the first sorted name greater than `name`.
    private func upperBound(of name: String) -> Int {
        let index = insertionIndex(of: name)
        return index < sortedNames.count && sortedNames[index] == name ? index + 1 : index
    }

    /// Refuses a caller over its own limits, then checks the password. Only the caller's connection and
    /// address are limited: no count of other people's failures can refuse a right password.
    private mutating func checkPassword(
        _ password: String, room roomName: String, by connection: ConnectionKey, client: String, now: BrokerClock
    ) throws(ChatError) {
        let connectionKey = "conn:\(connection)"
        let clientKey = "client:\(client)"
        if failuresByConnection.isBlocked(connectionKey, now: now.monotonic) {
            throw limited(.wrongPasswordsPerConnection, ChatError(.tooManyAttempts, "too many wrong passwords; wait \(seconds(failuresByConnection.retryAfter(connectionKey, now: now.monotonic))) s and try again"))
        }
        if !client.isEmpty, failuresByClient.isBlocked(clientKey, now: now.monotonic) {
            throw limited(.wrongPasswordsPerAddress, ChatError(.tooManyAttempts, "too many wrong passwords from your address; wait \(seconds(failuresByClient.retryAfter(clientKey, now: now.monotonic))) s and try again"))
        }
        guard let room = rooms[roomName] else { throw noSuchRoom(roomName) }
        guard room.passwordHash.matches(password) else {
            failuresByConnection.record(connectionKey, now: now.monotonic)
            if !client.isEmpty { failuresByClient.record(clientKey, now: now.monotonic) }
            throw ChatError(.wrongPassword, "wrong password for room \(roomName)")
        }
    }

    private mutating func limited(_ limit: RateLimit, _ error: ChatError) -> ChatError {
        lastLimit = limit
        return error
    }

    private mutating func remove(_ connection: ConnectionKey, from roomName: String, now: BrokerClock) -> RoomEvent? {
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

    /// Records that session `pid` ("" for none) has a member in `room`.
    private mutating func index(session pid: String, room: String) {
        guard !pid.isEmpty else { return }
        var names = roomsBySession[pid] ?? []
        let at = names.firstIndex { $0 >= room } ?? names.endIndex
        guard at == names.endIndex || names[at] != room else { return }
        names.insert(room, at: at)
        roomsBySession[pid] = names
    }

    /// Forgets that session `pid` ("" for none) has a member in `room`.
    private mutating func unindex(session pid: String, room: String) {
        guard !pid.isEmpty, var names = roomsBySession[pid] else { return }
        names.removeAll { $0 == room }
        roomsBySession[pid] = names.isEmpty ? nil : names
    }

    /// Most bytes of a Socket.IO session's private id (gateways make 32 hex digits).
    public static let maxSessionIDBytes = 64

    /// Checks a session's private id: 1–64 bytes of ASCII letters and digits ("" allowed for a join
    /// without connection-state recovery).
    static func sessionID(_ pid: String, allowEmpty: Bool) throws(ChatError) -> String {
        guard (allowEmpty || !pid.isEmpty), pid.utf8.count <= maxSessionIDBytes,
              pid.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) })
        else {
            throw ChatError(.badRequest, "pid must be 1-\(maxSessionIDBytes) ASCII letters and digits")
        }
        return pid
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
