import ChatWire

/// Following the active broker of a pair: which answers count (fencing by term), failing over, the
/// resend of the commands that waited, and the idempotency keys that make a resend safe.
extension BrokerLinkState {
    /// What the link knows of one broker from its last answer to a hello or heartbeat.
    struct Peer {
        var instance: String?
        var term: UInt64 = 0
    }

    /// Broker `broker` of a pair answered a hello or heartbeat with success at `term`: the active.
    mutating func activeAnswered(
        _ broker: Int,
        instance: String,
        term: UInt64,
        now: UInt64,
        into actions: inout [Action]
    ) {
        if broker == followedBroker {
            raiseTerm(to: term, of: instance)
            brokerAnswered(broker, instance: instance, now: now, into: &actions)
            return
        }
        if let followed = followedBroker {
            // Another active of the same rooms at a higher term took over from the followed one: the
            // followed one is deposed. Anything else (an equal term, another instance) is not followed.
            guard instance == brokerInstance, term > highestTerm else { return }
            markAwaitingResend(sentTo: followed)
        }
        raiseTerm(to: term, of: instance)
        actions.append(.notice(.followingBroker(index: broker, term: term)))
        brokerAnswered(broker, instance: instance, now: now, into: &actions)
    }

    /// The highest term seen of the broker state `instance`: counted from `term` for another instance.
    private mutating func raiseTerm(to term: UInt64, of instance: String) {
        highestTerm = instance == brokerInstance ? max(highestTerm, term) : term
    }

    /// With a pair, whether `reply` does not count because its broker is not (or no longer) the active:
    /// a deposed active's answer (a lower term), or a refusal as `not_active` (or `unknown_gateway`
    /// from a broker not followed). The command then waits for a resend to the active; a refusal by the
    /// followed broker fails over.
    mutating func setAsideAsNotFromTheActive(
        _ reply: WireReply,
        from broker: Int,
        now: UInt64,
        into actions: inout [Action]
    ) -> Bool {
        if let fenced = fencedTerm(of: reply, from: broker) {
            // A deposed active: its answer counts for nothing (the command waits for the active's).
            actions.append(.notice(.fencedReplyIgnored(index: broker, term: fenced, highestTerm: highestTerm)))
            markAwaitingResend(reply.requestID)
            return true
        }
        guard case .failure(let error) = reply.result,
            error.code == .notActive || (error.code == .unknownGateway && broker != followedBroker)
        else { return false }
        // Not applied: a client command goes out again to the active; the link's own are dropped.
        markAwaitingResend(reply.requestID)
        if broker == followedBroker { failOver(.notActive, now: now, into: &actions) }
        return true
    }

    /// The term of a deposed active if `reply` comes from one: a hello or heartbeat answered at a term,
    /// or any reply of a broker last seen at a term, below the highest seen for the same instance.
    private func fencedTerm(of reply: WireReply, from broker: Int) -> UInt64? {
        if reply.kind == .hello || reply.kind == .heartbeat, case .success(let success) = reply.result {
            return success.instance == brokerInstance && success.term < highestTerm ? success.term : nil
        }
        guard peers.indices.contains(broker) else { return nil }
        let peer = peers[broker]
        return peer.instance != nil && peer.instance == brokerInstance && peer.term < highestTerm ? peer.term : nil
    }

    // MARK: Failing over

    /// Gives up the followed broker: the link's own requests to it are dropped, client commands wait
    /// to be resent, new commands are held, and hello goes to the other broker at once, then to each
    /// in turn every ``helloRetryMilliseconds``.
    mutating func failOver(_ reason: BrokerLinkNotice.FailoverReason, now: UInt64, into actions: inout [Action]) {
        guard configuration.isPair, let followed = followedBroker else { return }
        actions.append(.notice(.failingOver(from: followed, reason: reason)))
        markAwaitingResend(sentTo: followed)
        let owesResync = registration == .reregistering
        phase = .failingOver(
            FailingOver(helloTurn: (followed + 1) % configuration.brokers.count, owesResync: owesResync)
        )
        epoch += 1
        nextHeartbeat = now + Self.helloRetryMilliseconds
        sayHello(now: now, into: &actions)
    }

    /// The requests sent to `broker`: the link's own are dropped, client commands wait for a resend.
    private mutating func markAwaitingResend(sentTo broker: Int) {
        for requestID in requests.sent(to: broker) {
            markAwaitingResend(requestID)
        }
    }

    /// A client command waits for a resend to the active; the link's own request is dropped.
    private mutating func markAwaitingResend(_ requestID: UInt32) {
        guard let dropped = requests.setAsideForResend(requestID) else { return }
        abandonReplay(dropped, requestID: requestID)
    }

    /// An active answered after a failover: the commands that wait go out again to it, in their
    /// order, with the same body and the time left to their deadline; to a broker that lost every
    /// room (another instance) they fail instead, as commands to a restarted broker do.
    mutating func resendAwaiting(restarted: Bool, now: UInt64, into actions: inout [Action]) {
        guard let followed = followedBroker, requests.hasAwaitingResend else { return }
        for outcome in requests.resendAwaiting(to: followed, epoch: epoch, now: now, restarted: restarted) {
            switch outcome {
            case .resent(let command):
                actions.append(.send(command, to: followed))
            case .lost(let requestID, let request):
                let lost = ChatError(
                    .brokerUnavailable,
                    "the room broker was replaced and lost this request; try again"
                )
                complete(request.waiter, with: .failure(lost), requestID: requestID, now: now, into: &actions)
            }
        }
    }

    // MARK: Idempotency keys

    /// With a pair, `body` with an idempotency key if it is a `create`, `message` or `post` without
    /// one, so that a resend after a failover is applied once.
    mutating func withGeneratedKey(_ body: WireCommand.Body) -> WireCommand.Body {
        guard configuration.isPair else { return body }
        switch body {
        case .create(let name, let room, let key) where key.isEmpty:
            return .create(name: name, room: room, key: nextGeneratedKey())
        case .message(let room, let text, let key) where key.isEmpty:
            return .message(room: room, text: text, key: nextGeneratedKey())
        case .post(let room, let password, let name, let text, let key) where key.isEmpty:
            return .post(room: room, password: password, name: name, text: text, key: nextGeneratedKey())
        default:
            return body
        }
    }

    private mutating func nextGeneratedKey() -> String {
        generatedKeys += 1
        return configuration.generatedKeyPrefix + String(generatedKeys)
    }
}
