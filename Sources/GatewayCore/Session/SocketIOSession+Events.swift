import ChatWire
import NIOCore
import SocketIO

/// The client events: each one's field limits (``FieldValidator``) and what it does. A new event is
/// declared and decoded in `ClientEvent` and handled here (docs/ARCHITECTURE.md, *Adding a client event*).
extension SocketIOSession {
    /// Checks `event`'s fields against their limits and acts on it; throws the refusal to ack.
    func handle(_ event: ClientEvent, ackID: UInt64?) throws(ChatError) {
        switch event {
        case .create(let name, let room, let id):
            let name = try FieldValidator.name(name)
            let room = try room.map { room throws(ChatError) in try FieldValidator.room(room) } ?? ""
            request(.create(name: name, room: room, key: try Self.idempotencyKey(id) ?? ""), ackID: ackID)
        case .join(let room, let password, let name, let since, let token):
            try join(
                room: FieldValidator.room(room),
                password: FieldValidator.password(password),
                name: FieldValidator.name(name),
                since: since,
                token: FieldValidator.token(token ?? ""),
                ackID: ackID
            )
        case .leave(let room):
            try leave(room: FieldValidator.room(room), ackID: ackID)
        case .message(let room, let text, let id):
            let room = try FieldValidator.room(room)
            let text = try FieldValidator.text(text)
            let key = try Self.idempotencyKey(id) ?? ""
            dropIfTakenOver(room)
            guard memberships[room]?.isActive == true else {
                throw ChatError(.notMember, "join room \(room) before sending to it")
            }
            request(.message(room: room, text: text, key: key), ackID: ackID)
        case .history(let room, let before):
            let room = try FieldValidator.room(room)
            dropIfTakenOver(room)
            guard memberships[room]?.isActive == true else {
                throw ChatError(.notMember, "join room \(room) before reading its history")
            }
            request(.history(room: room, before: before), ackID: ackID)
        case .listRooms(let after, let limit):
            let after = try after.map { after throws(ChatError) in try FieldValidator.room(after) } ?? ""
            let limit = limit ?? Self.defaultRoomsPerPage
            guard (1...Self.maxRoomsPerPage).contains(limit) else {
                throw ChatError(.badRequest, "limit must be 1 to \(Self.maxRoomsPerPage)")
            }
            request(.listRooms(after: after, limit: UInt32(limit)), ackID: ackID)
        }
    }

    /// A join: the membership is registered (pending) and the room followed before the command goes
    /// out, so that no event after the join's seq is missed; the room's events that arrive before the
    /// ack are held and written after it (PROTOCOL.md).
    private func join(
        room: String,
        password: String,
        name: String,
        since: UInt64?,
        token: String,
        ackID: UInt64?
    ) throws(ChatError) {
        dropIfTakenOver(room)
        guard memberships[room] == nil else { throw ChatError(.badRequest, "you are already in room \(room)") }
        guard memberships.count < Self.maxRooms else {
            throw ChatError(.rateLimited, "one connection may be in at most \(Self.maxRooms) rooms; leave one first")
        }
        let membership = rooms.add(room, for: connection)
        memberships[room] = membership
        everJoined = true
        link.follow(room)
        request(
            .join(room: room, password: password, name: name, since: since, pid: pid ?? "", token: token),
            ackID: ackID
        ) {
            [self] result in
            // A leave of everything (a disconnect) may have dropped this membership meanwhile.
            guard memberships[room] === membership else { return }
            switch result {
            case .success(let success): rooms.activate(membership, joinSeq: success.seq)
            case .failure: drop(membership)
            }
        }
    }

    /// A leave: nothing more of the room is written from now on; the membership goes on the ack
    /// (or stays if the broker refuses for another reason than `not_member`).
    private func leave(room: String, ackID: UInt64?) throws(ChatError) {
        dropIfTakenOver(room)
        guard let membership = memberships[room], membership.startLeaving() else {
            throw ChatError(.notMember, "you are not in room \(room)")
        }
        request(.leave(room: room), ackID: ackID) { [self] result in
            guard memberships[room] === membership else { return }
            switch result {
            case .success: drop(membership)
            case .failure(let error) where error.code == .notMember: drop(membership)
            case .failure: membership.cancelLeaving()
            }
        }
    }

    /// Sends a command; on the reply (on this loop) acks the client, then runs `then`.
    func request(
        _ body: WireCommand.Body,
        ackID: UInt64?,
        then: ((Result<WireReply.Success, ChatError>) -> Void)? = nil
    ) {
        inFlight += 1
        let loop = connection.eventLoop
        let boundThen = NIOLoopBound(then, eventLoop: loop)
        link.send(body, connectionID: connection.id, client: client) { [self] result in
            loop.execute { [self] in
                inFlight -= 1
                // Ack first: a joining client learns its join seq before the room events that follow it.
                switch result {
                case .success(let success): ack(ackID, success.json)
                case .failure(let error): ackError(ackID, error)
                }
                boundThen.value?(result)
            }
        }
    }

    /// Forgets `room`'s membership if another connection took it over (the client got `removed`).
    private func dropIfTakenOver(_ room: String) {
        if let membership = memberships[room], membership.isTakenOver { drop(membership) }
    }

    private func drop(_ membership: RoomMembership) {
        memberships[membership.room] = nil
        rooms.remove(membership)
        link.unfollow(membership.room)
    }

    /// Drops every membership and, if the session ever joined, tells the broker the connection is gone.
    func leaveEverything() {
        for membership in memberships.values { drop(membership) }
        if everJoined {
            everJoined = false
            link.send(.disconnect, connectionID: connection.id, completion: nil)
        }
    }
}
