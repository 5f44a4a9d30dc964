import ChatWire

/// Rooms: confirmed subscriptions release their parked joins, and the feed's decisions become actions.
extension BrokerLinkState {
    /// `room`'s subscription is live: the joins that waited for it go out, and any event up to the
    /// head still missing here is replayed.
    mutating func headArrived(room: String, seq: UInt64, now: UInt64, into actions: inout [Action]) {
        rooms.confirm(room)
        sendParked(room, now: now, into: &actions)
        apply(feed.announced(room: room, lastSeq: seq), now: now, into: &actions)
    }

    /// Sends `room`'s parked joins, in their order.
    mutating func sendParked(_ room: String, now: UInt64, into actions: inout [Action]) {
        for join in rooms.release(room) {
            dispatch(
                join.body,
                connectionID: join.connectionID,
                client: join.client,
                caller: join.caller,
                now: now,
                into: &actions
            )
        }
    }

    /// Fails the joins parked for connection `connectionID`, which is gone.
    mutating func failParkedJoins(of connectionID: UInt64, into actions: inout [Action]) {
        for join in rooms.removeParked(of: connectionID) {
            if let caller = join.caller {
                actions.append(.complete(caller, .failure(ChatError(.brokerUnavailable, "the connection closed"))))
            }
        }
    }

    /// Turns the feed's decisions into actions.
    mutating func apply(_ feedActions: [RoomFeed.Action], now: UInt64, into actions: inout [Action]) {
        for action in feedActions {
            switch action {
            case .deliver(let room, let seq, let gseq, let payload):
                actions.append(
                    .deliver(
                        RoomBroadcastFrame(
                            room: room,
                            seq: seq,
                            gseq: gseq,
                            instance: brokerInstance ?? "",
                            payload: payload
                        )
                    )
                )
            case .requestReplay(let room, let from, let to):
                guard let followed = followedBroker else {
                    feed.abandonReplay(room)
                    continue
                }
                actions.append(.notice(.gap(room: room, from: from, to: to)))
                send(
                    .replay(room: room, from: from, to: to),
                    connectionID: 0,
                    waiter: .replay(room: room),
                    to: followed,
                    now: now,
                    into: &actions
                )
            case .resync(let room):
                actions.append(.disconnectMembers(room: room, reason: .eventsLost))
            }
        }
    }

    /// `room`'s numbering started over: the feed now expects `next` instead of `previous`.
    mutating func restartFeed(_ room: String, previous: UInt64, next: UInt64, into actions: inout [Action]) {
        actions.append(.notice(.roomRenumbered(room: room, previous: previous, seq: next)))
        feed.restart(room, expecting: next)
        requests.forgetReplay(of: room)
    }
}
