import ChatWire

/// The broker link's logic without sockets or threads: the gateway's counterpart of the broker's
/// `BrokerEngine`. ``BrokerLink`` feeds it requests from the event loops, replies, broadcasts and
/// ticks, each with `now` on ``MonotonicClock`` (ms), and executes the ``Action``s it returns in order.
///
/// It coordinates a few parts: the requests waiting for replies (``PendingRequests``), the followed
/// rooms with their confirmed subscriptions and parked joins (``RoomSubscriptions``), each room's
/// ``RoomFeed``, and where the gateway stands with the broker (`Phase`, whose cases carry their own
/// data). Each input has one function here; replies, rooms, sending, registration and the following
/// of a pair's active broker have a file each (`BrokerLinkState+….swift`). `Caller` is whatever waits
/// for a command's outcome (the link's completion closures; plain values in tests).
///
/// Given the two brokers of a pair (``BrokerLinkConfiguration/brokers``), it follows the active one
/// (docs/ARCHITECTURE.md, "Following the active broker"): hello to both, then commands and heartbeats
/// only to the one that answered success; after ``BrokerLinkConfiguration/failoverAfterMilliseconds``
/// of silence, a `not_active` answer or a failed send it fails over, resends the commands that wait
/// for a reply to the next active, and ignores answers of a deposed active (a lower term). Inputs and
/// ``Action/send(_:to:)`` name the broker by its index in the configuration (always 0 with one broker).
public struct BrokerLinkState<Caller> {
    /// A request from an event loop.
    public enum Request {
        /// Send `body` for connection `connectionID` (client address key `client`); `caller`, if any,
        /// gets the outcome.
        case command(WireCommand.Body, connectionID: UInt64, client: String, caller: Caller?)
        /// Subscribe to a room (counted: each follow needs one unfollow). Comes before its join.
        case follow(String)
        /// Drop one follow of a room; the last one unsubscribes.
        case unfollow(String)
    }

    /// What the link must do, in order.
    public enum Action {
        /// Send this command on the DEALER socket of broker `to` (on failure, report ``sendFailed(requestID:now:)``).
        case send(WireCommand, to: Int)
        /// Subscribe every broker's SUB socket to the room's topic.
        case subscribe(String)
        /// Unsubscribe every broker's SUB socket from the room's topic.
        case unsubscribe(String)
        /// Hand a command's outcome to its caller.
        case complete(Caller, Result<WireReply.Success, ChatError>)
        /// Deliver one room event to local members (batch them; keep the order).
        case deliver(RoomBroadcastFrame)
        /// Disconnect every local member of the room (after delivering what came before).
        case disconnectMembers(room: String, reason: RoomDisconnectReason)
        /// The local connection's membership of the room was taken over elsewhere: write it `payload`
        /// (after what came before) and nothing more of the room.
        case takeOver(room: String, connectionID: UInt64, payload: [UInt8])
        /// Log a line.
        case notice(BrokerLinkNotice)
    }

    /// Where the gateway stands with the broker: the name of the current `Phase`, without its data.
    public enum Registration: Sendable, Equatable {
        /// Saying hello; never answered yet.
        case connecting
        /// The broker answered a hello or heartbeat.
        case registered
        /// The broker said it did not know this gateway: hello is out again, and the members are
        /// resynchronised once it is answered (see ``BrokerLinkState``).
        case reregistering
        /// A pair's followed broker was given up: hello goes to both in turn until an active answers;
        /// commands are held meanwhile.
        case failingOver
    }

    typealias Waiter = PendingRequests<Caller>.Waiter

    /// How often hello is repeated until the broker answers, ms.
    public static var helloRetryMilliseconds: UInt64 { 100 }
    /// How long a join waits for its room's subscription to be confirmed, ms.
    public static var subscriptionWaitMilliseconds: UInt64 { 2_000 }

    let configuration: BrokerLinkConfiguration
    /// The commands waiting for replies.
    var requests = PendingRequests<Caller>()
    /// The followed rooms, which of their subscriptions are confirmed, and the joins parked until then.
    var rooms: RoomSubscriptions<Caller>
    /// Where the gateway stands with the broker, with that phase's data.
    var phase: Phase
    /// Commands that came while no broker knew this gateway (before the answer to its hello, or while
    /// failing over): sent once one does, so a starting gateway never gets them refused as
    /// `unknown_gateway`. Always empty while registered.
    var heldForHello: [HeldCommand<Caller>] = []
    var nextHeartbeat: UInt64 = 0
    /// Bumped each time the members are resynchronised, hello is said again or the link fails over.
    var epoch: UInt64 = 0
    /// Per broker, its instance and term from its last answer to a hello or heartbeat.
    var peers: [Peer]
    /// The highest term seen of ``brokerInstance``: a lower one is a deposed active.
    var highestTerm: UInt64 = 0
    /// The counter of generated idempotency keys.
    var generatedKeys: UInt64 = 0
    /// Sequence order and gap replay per followed room.
    public internal(set) var feed: RoomFeed
    /// The broker instance that answered the last hello or heartbeat.
    public internal(set) var brokerInstance: String?

    /// A link that has sent nothing yet; its first ``tick(now:)`` says hello.
    public init(configuration: BrokerLinkConfiguration, feed: RoomFeed = RoomFeed()) {
        self.configuration = configuration
        self.feed = feed
        rooms = RoomSubscriptions(brokers: configuration.brokers.count)
        peers = Array(repeating: Peer(), count: configuration.brokers.count)
        // One broker is followed from the start; a pair's active is not known yet.
        phase = .connecting(configuration.isPair ? nil : Followed(broker: 0))
    }

    /// Where the gateway stands with the broker.
    public var registration: Registration { phase.registration }

    /// The index of the broker commands go to: always 0 with one broker; with a pair, the active
    /// that answered, nil before one did and while failing over.
    public var followedBroker: Int? { phase.followed?.broker }

    /// When the followed broker last answered anything (``MonotonicClock`` ms; nil: not yet, or
    /// failing over). `/healthz` is OK while this is within the health window.
    public var followedAnsweredAt: UInt64? { phase.followed?.answeredAt }

    /// The number of commands waiting for a reply.
    public var pendingCount: Int { requests.count }

    /// The number of joins parked until their room's subscription is confirmed.
    public var parkedCount: Int { rooms.parkedCount }

    /// Whether `room`'s subscription is confirmed.
    public func isLive(_ room: String) -> Bool { rooms.isLive(room) }

    // MARK: Inputs

    /// A request from an event loop.
    public mutating func handle(_ request: Request, now: UInt64) -> [Action] {
        var actions: [Action] = []
        switch request {
        case .command(let given, let connectionID, let client, let caller):
            let body = withGeneratedKey(given)
            if registration != .registered, body.kind != .disconnect || followedBroker == nil {
                holdForHello(body, connectionID: connectionID, client: client, caller: caller, now: now)
                return []
            }
            if case .join(let room, _, _, _, _, _) = body, rooms.holdsJoins(of: room) {
                // Send the join only once the subscription is live, so no event after it is missed.
                rooms.park(
                    HeldCommand(
                        body: body,
                        connectionID: connectionID,
                        client: client,
                        caller: caller,
                        deadline: now + Self.subscriptionWaitMilliseconds
                    ),
                    in: room
                )
                return []
            }
            if case .disconnect = body {
                // A join parked for this connection must not reach the broker after its disconnect.
                failParkedJoins(of: connectionID, into: &actions)
            }
            dispatch(body, connectionID: connectionID, client: client, caller: caller, now: now, into: &actions)
        case .follow(let room):
            if rooms.follow(room) {
                feed.follow(room)
                actions.append(.subscribe(room))
            }
        case .unfollow(let room):
            if rooms.unfollow(room) {
                requests.forgetReplay(of: room)
                feed.forget(room)
                actions.append(.unsubscribe(room))
            }
        }
        return actions
    }

    /// Broker `broker` sent something (a reply, even one that does not decode).
    public mutating func heard(from broker: Int, now: UInt64) {
        if broker == followedBroker { phase.followedHeard(at: now) }
    }

    /// A reply from broker `broker`: one function per kind of answer (`BrokerLinkState+Replies.swift`).
    public mutating func received(_ reply: WireReply, from broker: Int = 0, now: UInt64) -> [Action] {
        heard(from: broker, now: now)
        // Only the broker a command was (last) sent to answers it: a late reply of the broker given
        // up, to a command resent since, finds nobody.
        guard let request = requests[reply.requestID], request.broker == broker else { return [] }
        var actions: [Action] = []
        if configuration.isPair, setAsideAsNotFromTheActive(reply, from: broker, now: now, into: &actions) {
            return actions
        }
        _ = requests.remove(reply.requestID)
        var result = readableResult(of: reply, into: &actions)
        switch result {
        case .success(let success):
            switch request.kind {
            case .hello, .heartbeat:
                helloAnswered(success, from: broker, now: now, into: &actions)
            case .join:
                joinAnswered(success, joinedSeqSeen: request.joinedSeqSeen, now: now, into: &actions)
            case .resume:
                resumeAnswered(success, now: now, into: &actions)
            default:
                break
            }
        case .failure(let error) where error.code == .unknownGateway:
            guard let refusal = gatewayUnknownAnswered(request, requestID: reply.requestID, now: now, into: &actions)
            else {
                return actions
            }
            result = .failure(refusal)
        case .failure(let error) where error.code == .notMember && request.resent:
            if let success = resentLeaveAnswered(request) { result = .success(success) }
        case .failure:
            break
        }
        complete(request.waiter, with: result, requestID: reply.requestID, now: now, into: &actions)
        return actions
    }

    /// A broadcast read from broker `broker`'s SUB socket: only the followed broker's count.
    public mutating func received(_ broadcast: WireBroadcast, from broker: Int = 0, now: UInt64) -> [Action] {
        let room = broadcast.room
        guard rooms.isFollowed(room) else { return [] }
        guard broker == followedBroker else {
            if broadcast.kind == .head { rooms.noteHead(of: room, seq: broadcast.seq, from: broker) }
            return []
        }
        var actions: [Action] = []
        if broadcast.kind == .head {
            headArrived(room: room, seq: broadcast.seq, now: now, into: &actions)
            return actions
        }
        if broadcast.kind == .takenOver {
            // Not a room event: only the gateway of the connection that lost the membership acts.
            if broadcast.gateway == configuration.gatewayID {
                actions.append(
                    .takeOver(room: room, connectionID: broadcast.connectionID, payload: broadcast.payload)
                )
            }
            return actions
        }
        if broadcast.kind == .joined, broadcast.gateway == configuration.gatewayID,
            requests.noteJoinedEvent(room: room, connectionID: broadcast.connectionID, seq: broadcast.seq)
        {
            // The `joined` event of one of this gateway's joins in flight. Being new, it cannot be a
            // duplicate: numbered below what this gateway already saw, the room started over.
            if let expected = feed.expectedSeq(of: room), broadcast.seq < expected {
                restartFeed(room, previous: expected, next: broadcast.seq, into: &actions)
            }
        }
        apply(
            feed.receive(room: room, seq: broadcast.seq, gseq: broadcast.gseq, payload: broadcast.payload),
            now: now,
            into: &actions
        )
        return actions
    }

    /// The link could not hand the command `requestID` to ZeroMQ (no broker connected, or its queue
    /// is full).
    public mutating func sendFailed(requestID: UInt32, now: UInt64) -> [Action] {
        var actions: [Action] = []
        if configuration.isPair, let request = requests[requestID] {
            if request.broker == followedBroker {
                // No connection to the followed broker: fail over; the command waits for the next active.
                failOver(.unreachable, now: now, into: &actions)
                return actions
            }
            if request.command == nil {
                dropLinkRequest(requestID)
                return actions
            }
        }
        guard let request = requests.remove(requestID) else { return [] }
        complete(
            request.waiter,
            with: .failure(ChatError(.brokerUnavailable, "the room broker is not reachable; try again in a moment")),
            requestID: requestID,
            now: now,
            into: &actions
        )
        return actions
    }

    /// Periodic work (call at least every 100 ms): hello or heartbeat when due, joins whose
    /// subscription was never confirmed, and requests past their deadline.
    public mutating func tick(now: UInt64) -> [Action] {
        var actions: [Action] = []
        if configuration.isPair, let answered = followedAnsweredAt,
            now >= answered + configuration.failoverAfterMilliseconds
        {
            failOver(.silent, now: now, into: &actions)
        }
        if now >= nextHeartbeat {
            if case .registered(let followed) = phase {
                nextHeartbeat = now + configuration.heartbeatMilliseconds
                send(.heartbeat, connectionID: 0, waiter: .link, to: followed.broker, now: now, into: &actions)
            } else {
                // Until the broker answers, say hello often, so that /healthz turns green quickly.
                nextHeartbeat = now + Self.helloRetryMilliseconds
                sayHello(now: now, into: &actions)
            }
        }
        for room in rooms.overdueRooms(at: now) {
            // The confirmation never came (an old broker, or a lost head): join anyway; gaps are
            // still filled by sequence number.
            actions.append(.notice(.subscriptionUnconfirmed(room: room)))
            sendParked(room, now: now, into: &actions)
        }
        let unanswered = ChatError(.brokerUnavailable, "the room broker is not reachable; try again in a moment")
        for held in heldForHello where held.deadline <= now {
            if let caller = held.caller { actions.append(.complete(caller, .failure(unanswered))) }
        }
        heldForHello.removeAll { $0.deadline <= now }
        for requestID in requests.expired(at: now) {
            guard let request = requests.remove(requestID) else { continue }
            complete(
                request.waiter,
                with: .failure(ChatError(.brokerUnavailable, "the room broker did not answer in time; try again")),
                requestID: requestID,
                now: now,
                into: &actions
            )
        }
        return actions
    }

    /// The link is stopping: `queued` are what the event loops still queued. Disconnects go out
    /// (so the broker drops those members at once rather than after its gateway timeout); every other
    /// command, parked join and request waiting for a reply fails.
    public mutating func shutdown(_ queued: [Request], now: UInt64) -> [Action] {
        var actions: [Action] = []
        let stopping = ChatError(.brokerUnavailable, "the server is shutting down; try again in a moment")
        for join in rooms.removeAllParked() {
            if let caller = join.caller { actions.append(.complete(caller, .failure(stopping))) }
        }
        for request in requests.removeAll() {
            if case .caller(let caller?) = request.waiter { actions.append(.complete(caller, .failure(stopping))) }
        }
        for held in heldForHello {
            if let caller = held.caller { actions.append(.complete(caller, .failure(stopping))) }
        }
        heldForHello = []
        for request in queued {
            guard case .command(let body, let connectionID, let client, let caller) = request else { continue }
            if case .disconnect = body, let followed = followedBroker {
                send(
                    body,
                    connectionID: connectionID,
                    client: client,
                    waiter: .caller(nil),
                    to: followed,
                    now: now,
                    into: &actions
                )
            }
            if let caller { actions.append(.complete(caller, .failure(stopping))) }
        }
        return actions
    }
}

extension BrokerLinkState.Request: Sendable where Caller: Sendable {}
extension BrokerLinkState.Action: Sendable where Caller: Sendable {}
extension BrokerLinkState.Action: Equatable where Caller: Equatable {}
