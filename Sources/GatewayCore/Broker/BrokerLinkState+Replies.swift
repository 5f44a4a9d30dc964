import ChatWire
import SocketIO

/// The replies a broker sends, one function per kind of answer, and the hand-over of each outcome to
/// whoever waits for it. `received(_:from:now:)` (for a reply) picks the function.
extension BrokerLinkState {
    /// The reply's result; a command the broker could not read is logged and fails as an internal error.
    func readableResult(of reply: WireReply, into actions: inout [Action]) -> Result<WireReply.Success, ChatError> {
        guard reply.kind == .invalid, case .failure(let error) = reply.result else { return reply.result }
        actions.append(.notice(.commandUnreadable(message: error.message)))
        return .failure(ChatError(.internalError, "the broker could not read a command: \(error.message)"))
    }

    /// A join answered: the feed learns where the room stands. A seq below what this gateway already
    /// saw is normal when the join's own `joined` broadcast came first; without it, the room's
    /// numbering started over (the room was deleted and created again under the same name).
    mutating func joinAnswered(
        _ success: WireReply.Success,
        joinedSeqSeen: UInt64?,
        now: UInt64,
        into actions: inout [Action]
    ) {
        let room = success.room
        if let expected = feed.expectedSeq(of: room), success.seq < expected, joinedSeqSeen != success.seq {
            restartFeed(room, previous: expected, next: success.seq + 1, into: &actions)
        }
        apply(feed.joined(room, seq: success.seq), now: now, into: &actions)
    }

    /// A resume answered (connection-state recovery): the session is a member of these rooms again;
    /// follow each on its behalf (the session unfollows when it drops the membership) from its resumed seq.
    mutating func resumeAnswered(_ success: WireReply.Success, now: UInt64, into actions: inout [Action]) {
        for position in success.rooms {
            actions += handle(.follow(position.room), now: now)
            apply(feed.joined(position.room, seq: position.seq), now: now, into: &actions)
        }
    }

    /// A command answered `unknown_gateway`: the broker forgot this gateway, which says hello again.
    /// The error a client command fails with; nil for the link's replay, asked again at the next gap
    /// (if the feed is not reset before).
    mutating func gatewayUnknownAnswered(
        _ request: PendingRequests<Caller>.Request,
        requestID: UInt32,
        now: UInt64,
        into actions: inout [Action]
    ) -> ChatError? {
        brokerForgotGateway(epoch: request.epoch, now: now, into: &actions)
        if case .replay = request.waiter {
            abandonReplay(request, requestID: requestID)
            return nil
        }
        return ChatError(.brokerUnavailable, "the room broker lost contact with this server; try again in a moment")
    }

    /// A resent command answered `not_member`: for a `leave`, its first sending was applied before the
    /// failover, so it succeeded (`{"room": ...}`). Nil for any other command.
    func resentLeaveAnswered(_ request: PendingRequests<Caller>.Request) -> WireReply.Success? {
        guard case .leave(let room)? = request.command?.body else { return nil }
        return WireReply.Success(room: room, json: ServerEventEncoder.leaveAck(room: room))
    }

    /// Hands an outcome to whoever waits for it.
    mutating func complete(
        _ waiter: Waiter,
        with result: Result<WireReply.Success, ChatError>,
        requestID: UInt32,
        now: UInt64,
        into actions: inout [Action]
    ) {
        switch waiter {
        case .caller(let caller):
            if let caller { actions.append(.complete(caller, result)) }
        case .link:
            break
        case .replay(let room):
            replayAnswered(room: room, requestID: requestID, with: result, now: now, into: &actions)
        }
    }

    /// The outcome of the link's replay of a gap in `room`: the events go through the feed; a failure is
    /// logged and the feed decides. A reply to a replay the feed no longer waits for (the room was reset
    /// since) is stale.
    mutating func replayAnswered(
        room: String,
        requestID: UInt32,
        with result: Result<WireReply.Success, ChatError>,
        now: UInt64,
        into actions: inout [Action]
    ) {
        guard requests.endReplay(requestID, of: room) else { return }
        switch result {
        case .success(let success):
            apply(
                feed.replayed(room: room, events: success.events.map { ($0.seq, $0.gseq, $0.payload) }),
                now: now,
                into: &actions
            )
        case .failure(let error):
            actions.append(.notice(.replayFailed(room: room, code: error.code)))
            apply(feed.replayFailed(room: room), now: now, into: &actions)
        }
    }

    /// A replay that will not be answered: the feed asks again at the next gap or head, unless the room
    /// was reset since.
    mutating func abandonReplay(_ request: PendingRequests<Caller>.Request, requestID: UInt32) {
        guard case .replay(let room) = request.waiter, requests.endReplay(requestID, of: room) else { return }
        feed.abandonReplay(room)
    }
}
