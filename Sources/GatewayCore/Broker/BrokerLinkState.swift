import ChatWire
import SocketIO

/// The broker link's logic without sockets or threads: the gateway's counterpart of the broker's
/// `BrokerEngine`. ``BrokerLink`` feeds it requests from the event loops, replies, broadcasts and
/// ticks, each with `now` on ``MonotonicClock`` (ms), and executes the ``Action``s it returns in order.
///
/// It keeps the requests waiting for replies (with deadlines), the ref-counted follows of rooms and
/// which of their subscriptions the broker confirmed, the joins parked until then, each room's
/// ``RoomFeed``, the heartbeat schedule and the broker's instance id. `Caller` is whatever waits for a
/// command's outcome (the link's completion closures; plain values in tests).
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
        /// Log a line.
        case notice(BrokerLinkNotice)
    }

    /// Where the gateway stands with the broker.
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

    /// Who waits for a reply.
    private enum Waiter {
        /// A client command (nil: fire and forget).
        case caller(Caller?)
        /// The link's own replay of a gap in `room`.
        case replay(room: String)
        /// The link's own hello or heartbeat.
        case link
    }

    private struct Pending {
        var kind: CommandKind
        var deadline: UInt64
        var waiter: Waiter
        /// The registration epoch the command was sent in (see ``brokerForgotGateway(epoch:now:into:)``).
        var epoch: UInt64
        /// For a join: its room and connection, and the seq of its `joined` broadcast once seen here.
        var join: JoinKey?
        var joinedSeqSeen: UInt64? = nil
        /// The broker it was (last) sent to: only that broker's reply counts.
        var broker: Int
        /// The command as sent, for a resend after a failover (a client command of a pair).
        var command: WireCommand?
        /// Given up with its broker: goes out again once an active answers.
        var awaitingResend = false
        /// Went out again after a failover (a `leave` then answered `not_member` was applied before).
        var resent = false
    }

    /// What the link knows of one broker from its last answer to a hello or heartbeat.
    private struct Peer {
        var instance: String?
        var term: UInt64 = 0
    }

    /// A command held back until its room's subscription is live (a join), or until the broker
    /// has answered this gateway's hello (any command but a disconnect).
    private struct ParkedJoin {
        var body: WireCommand.Body
        var connectionID: UInt64
        var client: String
        var caller: Caller?
        var deadline: UInt64
    }

    private struct JoinKey: Hashable {
        var room: String
        var connectionID: UInt64
    }

    /// How often hello is repeated until the broker answers, ms.
    public static var helloRetryMilliseconds: UInt64 { 100 }
    /// How long a join waits for its room's subscription to be confirmed, ms.
    public static var subscriptionWaitMilliseconds: UInt64 { 2_000 }

    private let configuration: BrokerLinkConfiguration
    private var pending: [UInt32: Pending] = [:]
    private var nextRequestID: UInt32 = 1
    /// Follow counts per room.
    private var follows: [String: Int] = [:]
    /// Followed rooms whose subscription the broker confirmed (its head arrived).
    private var live: Set<String> = []
    private var parked: [String: [ParkedJoin]] = [:]
    /// Commands that came while the broker did not know this gateway yet (before the answer to its
    /// hello): sent once it does, so a starting gateway never gets them refused as `unknown_gateway`.
    private var unregistered: [ParkedJoin] = []
    /// The request id of each room's replay in flight.
    private var replays: [String: UInt32] = [:]
    /// The request id of each join in flight, by room and connection.
    private var joins: [JoinKey: UInt32] = [:]
    private var nextHeartbeat: UInt64 = 0
    /// Bumped each time the members are resynchronised, hello is said again or the link fails over.
    private var epoch: UInt64 = 0
    /// Per broker, its instance and term.
    private var peers: [Peer]
    /// The highest term seen of ``brokerInstance``: a lower one is a deposed active.
    private var highestTerm: UInt64 = 0
    /// The broker that hello goes to next while failing over.
    private var helloTurn = 0
    /// The followed broker had forgotten this gateway when the link failed over: its members are
    /// resynchronised once an active answers.
    private var resyncOwed = false
    /// Per broker, the last head of each followed room read from it while it was not followed: applied
    /// if the link comes to follow it (a new active's heads may arrive before its answer to hello).
    private var unfollowedHeads: [[String: UInt64]]
    /// Some client command waits for a resend (see ``resendAwaiting(restarted:now:into:)``).
    private var resendDue = false
    /// The counter of generated idempotency keys.
    private var generatedKeys: UInt64 = 0
    /// Sequence order and gap replay per followed room.
    public private(set) var feed: RoomFeed
    /// Where the gateway stands with the broker.
    public private(set) var registration: Registration = .connecting
    /// The broker instance that answered the last hello or heartbeat.
    public private(set) var brokerInstance: String?
    /// The index of the broker commands go to: always 0 with one broker; with a pair, the active
    /// that answered, nil before one did and while failing over.
    public private(set) var followedBroker: Int?
    /// When the followed broker last answered anything (``MonotonicClock`` ms; nil: not yet, or
    /// failing over). `/healthz` is OK while this is within the health window.
    public private(set) var followedAnsweredAt: UInt64?

    /// A link that has sent nothing yet; its first ``tick(now:)`` says hello.
    public init(configuration: BrokerLinkConfiguration, feed: RoomFeed = RoomFeed()) {
        self.configuration = configuration
        self.feed = feed
        peers = Array(repeating: Peer(), count: configuration.brokers.count)
        unfollowedHeads = Array(repeating: [:], count: configuration.brokers.count)
        followedBroker = configuration.isPair ? nil : 0
    }

    /// The number of commands waiting for a reply.
    public var pendingCount: Int { pending.count }

    /// The number of joins parked until their room's subscription is confirmed.
    public var parkedCount: Int { parked.values.reduce(0) { $0 + $1.count } }

    /// Whether `room`'s subscription is confirmed.
    public func isLive(_ room: String) -> Bool { live.contains(room) }

    // MARK: Inputs

    /// A request from an event loop.
    public mutating func handle(_ request: Request, now: UInt64) -> [Action] {
        var actions: [Action] = []
        switch request {
        case .command(let given, let connectionID, let client, let caller):
            let body = withGeneratedKey(given)
            if registration != .registered, body.kind != .disconnect || followedBroker == nil {
                unregistered.append(ParkedJoin(
                    body: body, connectionID: connectionID, client: client, caller: caller,
                    deadline: now + configuration.requestTimeoutMilliseconds))
                return []
            }
            if case .join(let room, _, _, _, _) = body, follows[room] != nil, !live.contains(room) {
                // Send the join only once the subscription is live, so no event after it is missed.
                parked[room, default: []].append(ParkedJoin(
                    body: body, connectionID: connectionID, client: client, caller: caller,
                    deadline: now + Self.subscriptionWaitMilliseconds))
                return []
            }
            if case .disconnect = body {
                // A join parked for this connection must not reach the broker after its disconnect.
                failParkedJoins(of: connectionID, into: &actions)
            }
            dispatch(body, connectionID: connectionID, client: client, caller: caller, now: now, into: &actions)
        case .follow(let room):
            follows[room, default: 0] += 1
            if follows[room] == 1 {
                feed.follow(room)
                actions.append(.subscribe(room))
            }
        case .unfollow(let room):
            guard let count = follows[room] else { break }
            if count > 1 {
                follows[room] = count - 1
            } else {
                follows[room] = nil
                live.remove(room)
                replays[room] = nil
                for index in unfollowedHeads.indices { unfollowedHeads[index][room] = nil }
                feed.forget(room)
                actions.append(.unsubscribe(room))
            }
        }
        return actions
    }

    /// Broker `broker` sent something (a reply, even one that does not decode).
    public mutating func heard(from broker: Int, now: UInt64) {
        if broker == followedBroker { followedAnsweredAt = now }
    }

    /// A reply from broker `broker`.
    public mutating func received(_ reply: WireReply, from broker: Int = 0, now: UInt64) -> [Action] {
        heard(from: broker, now: now)
        // Only the broker a command was (last) sent to answers it: a late reply of the broker given
        // up, to a command resent since, finds nobody.
        guard let request = pending[reply.requestID], request.broker == broker else { return [] }
        var actions: [Action] = []
        if configuration.isPair, let fenced = fencedTerm(of: reply, from: broker) {
            // A deposed active: its answer counts for nothing (the command waits for the active's).
            actions.append(.notice(.fencedReplyIgnored(index: broker, term: fenced, highestTerm: highestTerm)))
            markAwaitingResend(reply.requestID)
            return actions
        }
        if configuration.isPair, case .failure(let error) = reply.result,
           error.code == .notActive || (error.code == .unknownGateway && broker != followedBroker)
        {
            // Not applied: a client command goes out again to the active; the link's own are dropped.
            markAwaitingResend(reply.requestID)
            if broker == followedBroker { failOver(.notActive, now: now, into: &actions) }
            return actions
        }
        pending[reply.requestID] = nil
        if let join = request.join {
            joins[join] = nil
        }
        var result = reply.result
        if reply.kind == .invalid, case .failure(let error) = result {
            actions.append(.notice(.commandUnreadable(message: error.message)))
            result = .failure(ChatError(.internalError, "the broker could not read a command: \(error.message)"))
        }
        switch result {
        case .failure(let error) where error.code == .unknownGateway:
            brokerForgotGateway(epoch: request.epoch, now: now, into: &actions)
            if case .replay(let room) = request.waiter {
                // Asked again at the next gap, if the feed is not reset before.
                if replays[room] == reply.requestID {
                    replays[room] = nil
                    feed.abandonReplay(room)
                }
                return actions
            }
            result = .failure(ChatError(.brokerUnavailable, "the room broker lost contact with this server; try again in a moment"))
        case .success(let success) where request.kind == .hello || request.kind == .heartbeat:
            if peers.indices.contains(broker) { peers[broker] = Peer(instance: success.instance, term: success.term) }
            if configuration.isPair {
                activeAnswered(broker, instance: success.instance, term: success.term, now: now, into: &actions)
            } else {
                brokerAnswered(instance: success.instance, now: now, into: &actions)
            }
        case .failure(let error) where error.code == .notMember && request.resent:
            // A resent leave whose first sending was applied before the failover.
            if case .leave(let room)? = request.command?.body {
                result = .success(Self.leaveSuccess(room: room))
            }
        case .success(let success) where request.kind == .join:
            joinConfirmed(room: success.room, seq: success.seq, joinedSeqSeen: request.joinedSeqSeen, now: now, into: &actions)
        case .success(let success) where request.kind == .resume:
            // Connection-state recovery: the session is a member of these rooms again; follow each on
            // its behalf (the session unfollows when it drops the membership) from its resumed seq.
            for position in success.rooms {
                actions += handle(.follow(position.room), now: now)
                apply(feed.joined(position.room, seq: position.seq), now: now, into: &actions)
            }
        default:
            break
        }
        complete(request.waiter, with: result, requestID: reply.requestID, now: now, into: &actions)
        return actions
    }

    /// A broadcast read from broker `broker`'s SUB socket: only the followed broker's count.
    public mutating func received(_ broadcast: WireBroadcast, from broker: Int = 0, now: UInt64) -> [Action] {
        let room = broadcast.room
        guard follows[room] != nil else { return [] }
        guard broker == followedBroker else {
            if broadcast.kind == .head, unfollowedHeads.indices.contains(broker) {
                unfollowedHeads[broker][room] = max(unfollowedHeads[broker][room] ?? 0, broadcast.seq)
            }
            return []
        }
        var actions: [Action] = []
        if broadcast.kind == .head {
            headArrived(room: room, seq: broadcast.seq, now: now, into: &actions)
            return actions
        }
        if broadcast.kind == .joined, broadcast.gateway == configuration.gatewayID,
           let requestID = joins[JoinKey(room: room, connectionID: broadcast.connectionID)]
        {
            // The `joined` event of one of this gateway's joins in flight. Being new, it cannot be a
            // duplicate: numbered below what this gateway already saw, the room started over.
            pending[requestID]?.joinedSeqSeen = broadcast.seq
            if let expected = feed.expectedSeq(of: room), broadcast.seq < expected {
                restartFeed(room, previous: expected, next: broadcast.seq, into: &actions)
            }
        }
        apply(feed.receive(room: room, seq: broadcast.seq, gseq: broadcast.gseq, payload: broadcast.payload), now: now, into: &actions)
        return actions
    }

    /// The link could not hand the command `requestID` to ZeroMQ (no broker connected, or its queue
    /// is full).
    public mutating func sendFailed(requestID: UInt32, now: UInt64) -> [Action] {
        var actions: [Action] = []
        if configuration.isPair, let request = pending[requestID] {
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
        guard let request = pending.removeValue(forKey: requestID) else { return [] }
        if let join = request.join { joins[join] = nil }
        complete(
            request.waiter, with: .failure(ChatError(.brokerUnavailable, "the room broker is not reachable; try again in a moment")),
            requestID: requestID, now: now, into: &actions)
        return actions
    }

    /// Periodic work (call at least every 100 ms): hello or heartbeat when due, joins whose
    /// subscription was never confirmed, and requests past their deadline.
    public mutating func tick(now: UInt64) -> [Action] {
        var actions: [Action] = []
        if configuration.isPair, let answered = followedAnsweredAt, now >= answered + configuration.failoverAfterMilliseconds {
            failOver(.silent, now: now, into: &actions)
        }
        if now >= nextHeartbeat {
            if registration == .registered, let followed = followedBroker {
                nextHeartbeat = now + configuration.heartbeatMilliseconds
                send(.heartbeat, connectionID: 0, waiter: .link, to: followed, now: now, into: &actions)
            } else {
                // Until the broker answers, say hello often, so that /healthz turns green quickly.
                nextHeartbeat = now + Self.helloRetryMilliseconds
                sayHello(now: now, into: &actions)
            }
        }
        for room in parked.keys.sorted() where parked[room]?.contains(where: { $0.deadline <= now }) == true {
            // The confirmation never came (an old broker, or a lost head): join anyway; gaps are
            // still filled by sequence number.
            actions.append(.notice(.subscriptionUnconfirmed(room: room)))
            sendParked(room, now: now, into: &actions)
        }
        let unanswered = ChatError(.brokerUnavailable, "the room broker is not reachable; try again in a moment")
        for held in unregistered where held.deadline <= now {
            if let caller = held.caller { actions.append(.complete(caller, .failure(unanswered))) }
        }
        unregistered.removeAll { $0.deadline <= now }
        let expired = pending.compactMap { $0.value.deadline <= now ? $0.key : nil }.sorted()
        for requestID in expired {
            guard let request = pending.removeValue(forKey: requestID) else { continue }
            if let join = request.join { joins[join] = nil }
            complete(
                request.waiter, with: .failure(ChatError(.brokerUnavailable, "the room broker did not answer in time; try again")),
                requestID: requestID, now: now, into: &actions)
        }
        return actions
    }

    /// The link is stopping: `requests` are what the event loops still queued. Disconnects go out
    /// (so the broker drops those members at once rather than after its gateway timeout); every other
    /// command, parked join and request waiting for a reply fails.
    public mutating func shutdown(_ requests: [Request], now: UInt64) -> [Action] {
        var actions: [Action] = []
        let stopping = ChatError(.brokerUnavailable, "the server is shutting down; try again in a moment")
        for (room, joins) in parked.sorted(by: { $0.key < $1.key }) {
            parked[room] = nil
            for join in joins { if let caller = join.caller { actions.append(.complete(caller, .failure(stopping))) } }
        }
        for requestID in pending.keys.sorted() {
            guard let request = pending.removeValue(forKey: requestID), case .caller(let caller?) = request.waiter else { continue }
            actions.append(.complete(caller, .failure(stopping)))
        }
        for held in unregistered {
            if let caller = held.caller { actions.append(.complete(caller, .failure(stopping))) }
        }
        unregistered = []
        joins = [:]
        replays = [:]
        for request in requests {
            guard case .command(let body, let connectionID, let client, let caller) = request else { continue }
            if case .disconnect = body, let followed = followedBroker {
                send(body, connectionID: connectionID, client: client, waiter: .caller(nil), to: followed, now: now, into: &actions)
            }
            if let caller { actions.append(.complete(caller, .failure(stopping))) }
        }
        return actions
    }

    // MARK: Commands

    private mutating func send(
        _ body: WireCommand.Body, connectionID: UInt64, client: String = "", waiter: Waiter, to broker: Int, now: UInt64,
        into actions: inout [Action]
    ) {
        let requestID = takeRequestID()
        var join: JoinKey?
        if case .join(let room, _, _, _, _) = body {
            let key = JoinKey(room: room, connectionID: connectionID)
            joins[key] = requestID
            join = key
        }
        if case .replay(let room, _, _) = body {
            replays[room] = requestID
        }
        let command = WireCommand(
            requestID: requestID, connectionID: connectionID, client: client, sentAt: now,
            ttl: UInt32(clamping: configuration.requestTimeoutMilliseconds), body: body)
        var isClientCommand = false
        if case .caller = waiter { isClientCommand = true }
        pending[requestID] = Pending(
            kind: body.kind, deadline: now + configuration.requestTimeoutMilliseconds, waiter: waiter, epoch: epoch, join: join,
            broker: broker, command: configuration.isPair && isClientCommand ? command : nil)
        actions.append(.send(command, to: broker))
    }

    /// Sends a client command to the followed broker, or holds it until one answers.
    private mutating func dispatch(
        _ body: WireCommand.Body, connectionID: UInt64, client: String, caller: Caller?, now: UInt64, into actions: inout [Action]
    ) {
        guard let followed = followedBroker else {
            unregistered.append(ParkedJoin(
                body: body, connectionID: connectionID, client: client, caller: caller,
                deadline: now + configuration.requestTimeoutMilliseconds))
            return
        }
        send(body, connectionID: connectionID, client: client, waiter: .caller(caller), to: followed, now: now, into: &actions)
    }

    /// With a pair, `body` with an idempotency key if it is a `create`, `message` or `post` without
    /// one, so that a resend after a failover is applied once.
    private mutating func withGeneratedKey(_ body: WireCommand.Body) -> WireCommand.Body {
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

    /// What a `leave` answers (`{"room": ...}`), for a resent one the broker had applied before.
    private static func leaveSuccess(room: String) -> WireReply.Success {
        var json = JSONWriter(capacity: 48)
        json.beginObject()
        json.key("room")
        json.string(room)
        json.endObject()
        return WireReply.Success(room: room, json: json.bytes)
    }

    /// Drops one of the link's own requests (hello, heartbeat, replay) that will not be answered.
    private mutating func dropLinkRequest(_ requestID: UInt32) {
        guard let request = pending.removeValue(forKey: requestID) else { return }
        if case .replay(let room) = request.waiter, replays[room] == requestID {
            // Asked again at the next gap or head.
            replays[room] = nil
            feed.abandonReplay(room)
        }
    }

    private mutating func takeRequestID() -> UInt32 {
        repeat {
            nextRequestID &+= 1
        } while nextRequestID == 0 || pending[nextRequestID] != nil
        return nextRequestID
    }

    /// Hello to the followed broker; with a pair and none followed, to both at the start and to each
    /// in turn while failing over.
    private mutating func sayHello(now: UInt64, into actions: inout [Action]) {
        let hello = WireCommand.Body.hello(gatewayName: configuration.gatewayID)
        if let followed = followedBroker {
            send(hello, connectionID: 0, waiter: .link, to: followed, now: now, into: &actions)
        } else if registration == .failingOver {
            send(hello, connectionID: 0, waiter: .link, to: helloTurn, now: now, into: &actions)
            helloTurn = (helloTurn + 1) % configuration.brokers.count
        } else {
            for broker in configuration.brokers.indices {
                send(hello, connectionID: 0, waiter: .link, to: broker, now: now, into: &actions)
            }
        }
    }

    private mutating func sendParked(_ room: String, now: UInt64, into actions: inout [Action]) {
        guard let waiting = parked.removeValue(forKey: room) else { return }
        for join in waiting {
            dispatch(join.body, connectionID: join.connectionID, client: join.client, caller: join.caller, now: now, into: &actions)
        }
    }

    private mutating func failParkedJoins(of connectionID: UInt64, into actions: inout [Action]) {
        for room in parked.keys.sorted() {
            guard let waiting = parked[room], waiting.contains(where: { $0.connectionID == connectionID }) else { continue }
            let kept = waiting.filter { $0.connectionID != connectionID }
            parked[room] = kept.isEmpty ? nil : kept
            for join in waiting where join.connectionID == connectionID {
                if let caller = join.caller {
                    actions.append(.complete(caller, .failure(ChatError(.brokerUnavailable, "the connection closed"))))
                }
            }
        }
    }

    /// Hands an outcome to whoever waits for it.
    private mutating func complete(
        _ waiter: Waiter, with result: Result<WireReply.Success, ChatError>, requestID: UInt32, now: UInt64,
        into actions: inout [Action]
    ) {
        switch waiter {
        case .caller(let caller):
            if let caller { actions.append(.complete(caller, result)) }
        case .link:
            break
        case .replay(let room):
            // A reply to a replay the feed no longer waits for (the room was reset since) is stale.
            guard replays[room] == requestID else { return }
            replays[room] = nil
            switch result {
            case .success(let success):
                apply(feed.replayed(room: room, events: success.events.map { ($0.seq, $0.gseq, $0.payload) }), now: now, into: &actions)
            case .failure(let error):
                actions.append(.notice(.replayFailed(room: room, code: error.code)))
                apply(feed.replayFailed(room: room), now: now, into: &actions)
            }
        }
    }

    // MARK: Rooms

    /// `room`'s subscription is live: the joins that waited for it go out, and any event up to the
    /// head still missing here is replayed.
    private mutating func headArrived(room: String, seq: UInt64, now: UInt64, into actions: inout [Action]) {
        live.insert(room)
        sendParked(room, now: now, into: &actions)
        apply(feed.announced(room: room, lastSeq: seq), now: now, into: &actions)
    }

    /// Turns the feed's decisions into actions.
    private mutating func apply(_ feedActions: [RoomFeed.Action], now: UInt64, into actions: inout [Action]) {
        for action in feedActions {
            switch action {
            case .deliver(let room, let seq, let gseq, let payload):
                actions.append(.deliver(RoomBroadcastFrame(room: room, seq: seq, gseq: gseq, instance: brokerInstance ?? "", payload: payload)))
            case .requestReplay(let room, let from, let to):
                guard let followed = followedBroker else {
                    feed.abandonReplay(room)
                    continue
                }
                actions.append(.notice(.gap(room: room, from: from, to: to)))
                send(.replay(room: room, from: from, to: to), connectionID: 0, waiter: .replay(room: room), to: followed, now: now, into: &actions)
            case .resync(let room):
                actions.append(.disconnectMembers(room: room, reason: .eventsLost))
            }
        }
    }

    /// A join reply: the feed learns where the room stands. A seq below what this gateway already
    /// saw is normal when the join's own `joined` broadcast came first; without it, the room's
    /// numbering started over (the room was deleted and created again under the same name).
    private mutating func joinConfirmed(room: String, seq: UInt64, joinedSeqSeen: UInt64?, now: UInt64, into actions: inout [Action]) {
        if let expected = feed.expectedSeq(of: room), seq < expected, joinedSeqSeen != seq {
            restartFeed(room, previous: expected, next: seq + 1, into: &actions)
        }
        apply(feed.joined(room, seq: seq), now: now, into: &actions)
    }

    private mutating func restartFeed(_ room: String, previous: UInt64, next: UInt64, into actions: inout [Action]) {
        actions.append(.notice(.roomRenumbered(room: room, previous: previous, seq: next)))
        feed.restart(room, expecting: next)
        replays[room] = nil
    }

    // MARK: Registration

    /// A hello or heartbeat was answered by broker `instance`. A new instance means the broker
    /// restarted and lost every room; an answer to the hello said after the broker forgot this
    /// gateway means its members there are gone. Either way the local members are told.
    private mutating func brokerAnswered(instance: String, now: UInt64, into actions: inout [Action]) {
        let restarted = brokerInstance.map { !instance.isEmpty && $0 != instance } ?? false
        let forgotten = registration == .reregistering || resyncOwed
        resyncOwed = false
        if !instance.isEmpty { brokerInstance = instance }
        registration = .registered
        if restarted {
            resynchronise(.brokerRestarted, into: &actions)
        } else if forgotten {
            resynchronise(.gatewayForgotten, into: &actions)
        }
        resendAwaiting(restarted: restarted, now: now, into: &actions)
        if let followed = followedBroker, unfollowedHeads.indices.contains(followed), !unfollowedHeads[followed].isEmpty {
            let heads = unfollowedHeads[followed]
            unfollowedHeads[followed] = [:]
            for (room, seq) in heads.sorted(by: { $0.key < $1.key }) where follows[room] != nil {
                headArrived(room: room, seq: seq, now: now, into: &actions)
            }
        }
        let held = unregistered
        unregistered = []
        for command in held {
            actions += handle(.command(command.body, connectionID: command.connectionID, client: command.client, caller: command.caller), now: now)
        }
    }

    // MARK: Following the active broker of a pair

    /// Broker `broker` of a pair answered a hello or heartbeat with success at `term`: the active.
    private mutating func activeAnswered(_ broker: Int, instance: String, term: UInt64, now: UInt64, into actions: inout [Action]) {
        if broker == followedBroker {
            if instance == brokerInstance { highestTerm = max(highestTerm, term) } else { highestTerm = term }
            brokerAnswered(instance: instance, now: now, into: &actions)
            return
        }
        if let followed = followedBroker {
            // Another active of the same rooms at a higher term took over from the followed one: the
            // followed one is deposed. Anything else (an equal term, another instance) is not followed.
            guard instance == brokerInstance, term > highestTerm else { return }
            markAwaitingResend(sentTo: followed)
        }
        followedBroker = broker
        followedAnsweredAt = now
        if instance == brokerInstance { highestTerm = max(highestTerm, term) } else { highestTerm = term }
        actions.append(.notice(.followingBroker(index: broker, term: term)))
        if registration == .failingOver { registration = .connecting }
        brokerAnswered(instance: instance, now: now, into: &actions)
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

    /// Gives up the followed broker: the link's own requests to it are dropped, client commands wait
    /// to be resent, new commands are held, and hello goes to the other broker at once, then to each
    /// in turn every ``helloRetryMilliseconds``.
    private mutating func failOver(_ reason: BrokerLinkNotice.FailoverReason, now: UInt64, into actions: inout [Action]) {
        guard configuration.isPair, let followed = followedBroker else { return }
        actions.append(.notice(.failingOver(from: followed, reason: reason)))
        markAwaitingResend(sentTo: followed)
        followedBroker = nil
        followedAnsweredAt = nil
        if registration == .reregistering { resyncOwed = true }
        registration = .failingOver
        epoch += 1
        helloTurn = (followed + 1) % configuration.brokers.count
        nextHeartbeat = now + Self.helloRetryMilliseconds
        sayHello(now: now, into: &actions)
    }

    /// The requests sent to `broker`: the link's own are dropped, client commands wait for a resend.
    private mutating func markAwaitingResend(sentTo broker: Int) {
        for requestID in pending.keys.sorted() where pending[requestID]?.broker == broker {
            markAwaitingResend(requestID)
        }
    }

    /// A client command waits for a resend to the active; the link's own request is dropped.
    private mutating func markAwaitingResend(_ requestID: UInt32) {
        if pending[requestID]?.command != nil {
            pending[requestID]?.awaitingResend = true
            resendDue = true
        } else {
            dropLinkRequest(requestID)
        }
    }

    /// An active answered after a failover: the commands that wait go out again to it, in their
    /// order, with the same body and the time left to their deadline; to a broker that lost every
    /// room (another instance) they fail instead, as commands to a restarted broker do.
    private mutating func resendAwaiting(restarted: Bool, now: UInt64, into actions: inout [Action]) {
        guard resendDue, let followed = followedBroker else { return }
        resendDue = false
        for requestID in pending.keys.sorted() {
            guard let request = pending[requestID], request.awaitingResend, var command = request.command else { continue }
            if restarted || request.deadline <= now {
                pending[requestID] = nil
                if let join = request.join { joins[join] = nil }
                let lost = ChatError(.brokerUnavailable, "the room broker was replaced and lost this request; try again")
                complete(request.waiter, with: .failure(lost), requestID: requestID, now: now, into: &actions)
                continue
            }
            command.sentAt = now
            command.ttl = UInt32(clamping: request.deadline - now)
            pending[requestID]?.command = command
            pending[requestID]?.broker = followed
            pending[requestID]?.awaitingResend = false
            pending[requestID]?.resent = true
            pending[requestID]?.epoch = epoch
            actions.append(.send(command, to: followed))
        }
    }

    /// A reply said the broker does not know this gateway (it restarted, or dropped the gateway
    /// after a silence). Once per epoch: the replies to the other commands sent before the new hello
    /// say the same and change nothing more.
    private mutating func brokerForgotGateway(epoch sentIn: UInt64, now: UInt64, into actions: inout [Action]) {
        guard sentIn == epoch else { return }
        epoch += 1
        registration = .reregistering
        actions.append(.notice(.gatewayUnknown))
        nextHeartbeat = now + Self.helloRetryMilliseconds
        sayHello(now: now, into: &actions)
    }

    /// Disconnects the local members of every followed room and resets the rooms' feeds: the
    /// members' clients reconnect and join again, and the next join reply sets each feed afresh.
    private mutating func resynchronise(_ reason: RoomDisconnectReason, into actions: inout [Action]) {
        epoch += 1
        actions.append(.notice(.resynchronising(reason: reason, rooms: follows.count)))
        for room in follows.keys.sorted() {
            feed.reset(room)
            replays[room] = nil
            // A restarted broker has a new XPUB socket: wait for its head before sending joins.
            if reason == .brokerRestarted { live.remove(room) }
            actions.append(.disconnectMembers(room: room, reason: reason))
        }
    }
}

extension BrokerLinkState.Request: Sendable where Caller: Sendable {}
extension BrokerLinkState.Action: Sendable where Caller: Sendable {}
extension BrokerLinkState.Action: Equatable where Caller: Equatable {}
