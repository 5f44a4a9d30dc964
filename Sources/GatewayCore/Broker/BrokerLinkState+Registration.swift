import ChatWire

/// Registration: where the gateway stands with the broker (``Phase``), hello and its answers, the
/// broker forgetting this gateway or restarting, and the resynchronisation of the local members.
extension BrokerLinkState {
    /// Where the gateway stands with the broker, each case with the data of that phase only. The
    /// public ``registration`` names it; ``followedBroker`` and ``followedAnsweredAt`` read it.
    enum Phase {
        /// Saying hello, never answered yet: to the one broker (followed from the start), or, when
        /// nil, to both brokers of a pair, whose active is not known yet.
        case connecting(Followed?)
        /// The followed broker answered a hello or heartbeat: commands and heartbeats go to it.
        case registered(Followed)
        /// The followed broker answered that it did not know this gateway: hello is out again, and the
        /// members are resynchronised once it is answered.
        case reregistering(Followed)
        /// A pair's followed broker was given up: hello goes to each in turn until an active answers;
        /// commands are held meanwhile.
        case failingOver(FailingOver)
    }

    /// The broker commands go to.
    struct Followed {
        /// Its index in the configuration.
        var broker: Int
        /// When it last answered anything (nil: not yet).
        var answeredAt: UInt64?
    }

    /// A pair's link between giving up its followed broker and the next active's answer.
    struct FailingOver {
        /// The broker that hello goes to next.
        var helloTurn: Int
        /// The given-up broker had forgotten this gateway: its members are resynchronised once an
        /// active answers.
        var owesResync: Bool
    }

    // MARK: Hello and its answers

    /// Hello to the followed broker; with a pair and none followed, to both at the start and to each
    /// in turn while failing over.
    mutating func sayHello(now: UInt64, into actions: inout [Action]) {
        let hello = WireCommand.Body.hello(gatewayName: configuration.gatewayID)
        if let followed = followedBroker {
            send(hello, connectionID: 0, waiter: .link, to: followed, now: now, into: &actions)
        } else if case .failingOver(var failing) = phase {
            send(hello, connectionID: 0, waiter: .link, to: failing.helloTurn, now: now, into: &actions)
            failing.helloTurn = (failing.helloTurn + 1) % configuration.brokers.count
            phase = .failingOver(failing)
        } else {
            for broker in configuration.brokers.indices {
                send(hello, connectionID: 0, waiter: .link, to: broker, now: now, into: &actions)
            }
        }
    }

    /// A hello or heartbeat answered with success by `broker`: with a pair, an active
    /// (``activeAnswered(_:instance:term:now:into:)``).
    mutating func helloAnswered(
        _ success: WireReply.Success,
        from broker: Int,
        now: UInt64,
        into actions: inout [Action]
    ) {
        if peers.indices.contains(broker) { peers[broker] = Peer(instance: success.instance, term: success.term) }
        if configuration.isPair {
            activeAnswered(broker, instance: success.instance, term: success.term, now: now, into: &actions)
        } else {
            brokerAnswered(broker, instance: success.instance, now: now, into: &actions)
        }
    }

    /// The broker to follow, `broker`, answered a hello or heartbeat as `instance`: registered. A new
    /// instance means the broker restarted and lost every room; an answer to the hello said after the
    /// broker forgot this gateway means its members there are gone. Either way the local members are
    /// told. Then the commands that waited go out.
    mutating func brokerAnswered(_ broker: Int, instance: String, now: UInt64, into actions: inout [Action]) {
        let restarted = brokerInstance.map { !instance.isEmpty && $0 != instance } ?? false
        let forgotten: Bool
        switch phase {
        case .reregistering: forgotten = true
        case .failingOver(let failing): forgotten = failing.owesResync
        case .connecting, .registered: forgotten = false
        }
        if !instance.isEmpty { brokerInstance = instance }
        phase = .registered(Followed(broker: broker, answeredAt: now))
        if restarted {
            resynchronise(.brokerRestarted, into: &actions)
        } else if forgotten {
            resynchronise(.gatewayForgotten, into: &actions)
        }
        resendAwaiting(restarted: restarted, now: now, into: &actions)
        for (room, seq) in rooms.takeHeads(from: broker) {
            headArrived(room: room, seq: seq, now: now, into: &actions)
        }
        let held = heldForHello
        heldForHello = []
        for command in held {
            actions += handle(
                .command(
                    command.body,
                    connectionID: command.connectionID,
                    client: command.client,
                    caller: command.caller
                ),
                now: now
            )
        }
    }

    // MARK: Forgotten or restarted

    /// A reply said the broker does not know this gateway (it restarted, or dropped the gateway
    /// after a silence). Once per epoch: the replies to the other commands sent before the new hello
    /// say the same and change nothing more. Only the followed broker's answer gets here (with a pair,
    /// the other broker's `unknown_gateway` counts as not active).
    mutating func brokerForgotGateway(epoch sentIn: UInt64, now: UInt64, into actions: inout [Action]) {
        guard sentIn == epoch, let followed = phase.followed else { return }
        epoch += 1
        phase = .reregistering(followed)
        actions.append(.notice(.gatewayUnknown))
        nextHeartbeat = now + Self.helloRetryMilliseconds
        sayHello(now: now, into: &actions)
    }

    /// Disconnects the local members of every followed room and resets the rooms' feeds: the
    /// members' clients reconnect and join again, and the next join reply sets each feed afresh.
    mutating func resynchronise(_ reason: RoomDisconnectReason, into actions: inout [Action]) {
        epoch += 1
        let followed = rooms.rooms
        actions.append(.notice(.resynchronising(reason: reason, rooms: followed.count)))
        for room in followed {
            feed.reset(room)
            requests.forgetReplay(of: room)
            // A restarted broker has a new XPUB socket: wait for its head before sending joins.
            if reason == .brokerRestarted { rooms.unconfirm(room) }
            actions.append(.disconnectMembers(room: room, reason: reason))
        }
    }
}

extension BrokerLinkState.Phase {
    /// The phase's name.
    var registration: BrokerLinkState.Registration {
        switch self {
        case .connecting: return .connecting
        case .registered: return .registered
        case .reregistering: return .reregistering
        case .failingOver: return .failingOver
        }
    }

    /// The broker commands go to, if any.
    var followed: BrokerLinkState.Followed? {
        switch self {
        case .connecting(let followed): return followed
        case .registered(let followed), .reregistering(let followed): return followed
        case .failingOver: return nil
        }
    }

    /// The followed broker answered something at `now`.
    mutating func followedHeard(at now: UInt64) {
        switch self {
        case .connecting(var followed?):
            followed.answeredAt = now
            self = .connecting(followed)
        case .registered(var followed):
            followed.answeredAt = now
            self = .registered(followed)
        case .reregistering(var followed):
            followed.answeredAt = now
            self = .reregistering(followed)
        case .connecting(nil), .failingOver:
            break
        }
    }
}
