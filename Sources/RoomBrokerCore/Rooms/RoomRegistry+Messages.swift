import ChatWire

/// Messages: from a member (`message`) and from the HTTP API (`post`), each kept in the room's history
/// and accounted in the global budget; a repeated idempotency key is answered with the first seq.
extension RoomRegistry {
    /// Adds a message from member `connection` to `room`; a repeat of a non-empty `key` the room still
    /// remembers (``RecentKeys``: the last minute, at most 1,024) is not added again but answered with
    /// the first seq.
    public mutating func message(
        room rawRoom: String,
        text rawText: String,
        key rawKey: String = "",
        by connection: ConnectionKey,
        now: BrokerClock
    ) throws(ChatError) -> MessageOutcome {
        let roomName = try FieldValidator.room(rawRoom)
        let text = try FieldValidator.text(rawText)
        let key = try FieldValidator.key(rawKey)
        let added = try update(roomName) { room throws(ChatError) -> Added in
            guard let name = room.memberName(on: connection) else {
                throw ChatError(.notMember, "join room \(roomName) before sending to it")
            }
            return Self.append(
                ChatMessage(seq: 0, name: name, text: text, timestamp: now.wall),
                key: key,
                to: &room,
                from: connection,
                now: now.monotonic
            )
        }
        return account(added)
    }

    /// Adds a message to `room` from a non-member who proves the password (the HTTP API); it is marked
    /// `via: http`. `key` as for ``message(room:text:key:by:now:)``.
    public mutating func post(
        room rawRoom: String,
        password: String,
        name rawName: String,
        text rawText: String,
        key rawKey: String = "",
        by connection: ConnectionKey,
        client: String = "",
        now: BrokerClock
    ) throws(ChatError) -> MessageOutcome {
        let roomName = try FieldValidator.room(rawRoom)
        let name = try FieldValidator.name(rawName)
        let text = try FieldValidator.text(rawText)
        let key = try FieldValidator.key(rawKey)
        _ = try FieldValidator.password(password)
        try checkPassword(password, room: roomName, by: connection, client: client, now: now)
        let added = try update(roomName) { room in
            Self.append(
                ChatMessage(seq: 0, name: name, text: text, timestamp: now.wall, via: .http),
                key: key,
                to: &room,
                from: nil,
                now: now.monotonic
            )
        }
        return account(added)
    }

    /// The kept messages of `room` numbered before `before`, oldest first, for its member on
    /// `connection` paging back past its join's history (the caller trims them to its reply budget from
    /// the newest).
    public func history(
        room rawRoom: String,
        before: UInt64,
        by connection: ConnectionKey
    ) throws(ChatError) -> [ChatMessage] {
        let roomName = try FieldValidator.room(rawRoom)
        guard let room = rooms[roomName] else { throw noSuchRoom(roomName) }
        guard room.memberName(on: connection) != nil else {
            throw ChatError(.notMember, "join room \(roomName) before reading its history")
        }
        return room.history.filter { $0.seq < before }
    }

    /// A message appended to a room, to account for in the ledger (or a repeat).
    struct Added {
        var outcome: MessageOutcome
        var entry: StorageLedger.Entry?
        var bytes = 0
        var released = BudgetedQueue<ChatMessage>.Released()
    }

    static func append(
        _ message: ChatMessage,
        key: String,
        to room: inout Room,
        from connection: ConnectionKey?,
        now: UInt64
    ) -> Added {
        if !key.isEmpty, let seq = room.messageKeys.seq(of: key) {
            return Added(outcome: .repeated(room: room.name, seq: seq))
        }
        var message = message
        message.seq = room.nextSeq()
        let released = room.appendHistory(message)
        if !key.isEmpty { room.recordKey(key, seq: message.seq, now: now) }
        return Added(
            outcome: .new(.message(room: room.name, message: message, connection: connection)),
            entry: StorageLedger.Entry(
                room: room.name,
                incarnation: room.incarnation,
                store: .history,
                seq: message.seq
            ),
            bytes: message.byteCount,
            released: released
        )
    }

    mutating func account(_ added: Added) -> MessageOutcome {
        if let entry = added.entry {
            keep(entry, bytes: added.bytes, released: added.released.count, releasedBytes: added.released.bytes)
        }
        return added.outcome
    }
}
