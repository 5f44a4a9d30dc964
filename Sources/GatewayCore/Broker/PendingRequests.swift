import ChatWire

/// The commands sent to a broker that wait for a reply: request ids, deadlines, the marks of a resend
/// after a failover, and which join and which replay of a room are in flight. Plain bookkeeping:
/// ``BrokerLinkState`` decides what each reply means and whom to tell.
struct PendingRequests<Caller> {
    /// Who waits for a reply.
    enum Waiter {
        /// A client command (nil: fire and forget).
        case caller(Caller?)
        /// The link's own replay of a gap in `room`.
        case replay(room: String)
        /// The link's own hello or heartbeat.
        case link
    }

    /// A join in flight: its room and connection.
    struct JoinKey: Hashable {
        var room: String
        var connectionID: UInt64
    }

    /// One command waiting for its reply.
    struct Request {
        var kind: CommandKind
        var deadline: UInt64
        var waiter: Waiter
        /// The registration epoch the command was sent in (a broker forgetting the gateway counts once per epoch).
        var epoch: UInt64
        /// For a join: its room and connection, and the seq of its `joined` broadcast once seen here.
        var join: JoinKey?
        var joinedSeqSeen: UInt64?
        /// The broker it was (last) sent to: only that broker's reply counts.
        var broker: Int
        /// The command as sent, kept for a resend after a failover (a client command of a pair).
        var command: WireCommand?
        /// Given up with its broker: goes out again once an active answers.
        var awaitingResend = false
        /// Went out again after a failover (a `leave` then answered `not_member` was applied before).
        var resent = false
    }

    /// What ``resendAwaiting(to:epoch:now:restarted:)`` did with one command.
    enum Resend {
        /// Sent again, with the time left to its deadline.
        case resent(WireCommand)
        /// Removed: past its deadline, or its broker lost every room.
        case lost(requestID: UInt32, Request)
    }

    private var requests: [UInt32: Request] = [:]
    private var lastRequestID: UInt32 = 1
    /// The request id of each join in flight.
    private var joins: [JoinKey: UInt32] = [:]
    /// The request id of each room's replay in flight (one at a time per room).
    private var replays: [String: UInt32] = [:]

    /// The number of commands waiting.
    var count: Int { requests.count }

    /// The command `requestID`, if it still waits.
    subscript(requestID: UInt32) -> Request? { requests[requestID] }

    /// Records `body` as sent to `broker` at `now` and returns the command to send: a fresh request id,
    /// `sentAt` now, `ttl` and deadline `timeout` ms. `keepsCommand`: kept for a resend after a failover.
    mutating func add(
        _ body: WireCommand.Body,
        connectionID: UInt64,
        client: String,
        waiter: Waiter,
        to broker: Int,
        epoch: UInt64,
        now: UInt64,
        timeout: UInt64,
        keepsCommand: Bool
    ) -> WireCommand {
        let requestID = takeRequestID()
        var join: JoinKey?
        if case .join(let room, _, _, _, _, _) = body {
            let key = JoinKey(room: room, connectionID: connectionID)
            joins[key] = requestID
            join = key
        }
        if case .replay(let room, _, _) = body {
            replays[room] = requestID
        }
        let command = WireCommand(
            requestID: requestID,
            connectionID: connectionID,
            client: client,
            sentAt: now,
            ttl: UInt32(clamping: timeout),
            body: body
        )
        requests[requestID] = Request(
            kind: body.kind,
            deadline: now + timeout,
            waiter: waiter,
            epoch: epoch,
            join: join,
            broker: broker,
            command: keepsCommand ? command : nil
        )
        return command
    }

    /// Removes the command `requestID` (and its join's entry) and returns it.
    mutating func remove(_ requestID: UInt32) -> Request? {
        guard let request = requests.removeValue(forKey: requestID) else { return nil }
        if let join = request.join { joins[join] = nil }
        return request
    }

    /// Removes every command (the link is stopping), in request order.
    mutating func removeAll() -> [Request] {
        let all = requests.keys.sorted().compactMap { requests[$0] }
        requests = [:]
        joins = [:]
        replays = [:]
        return all
    }

    /// The commands past their deadline at `now`, in request order.
    func expired(at now: UInt64) -> [UInt32] {
        requests.compactMap { $0.value.deadline <= now ? $0.key : nil }.sorted()
    }

    /// The commands (last) sent to `broker`, in request order.
    func sent(to broker: Int) -> [UInt32] {
        requests.compactMap { $0.value.broker == broker ? $0.key : nil }.sorted()
    }

    // MARK: Joins and replays

    /// A `joined` broadcast of `connectionID` in `room` numbered `seq`: if a join of this gateway's is in
    /// flight for them, notes the seq on it and returns true.
    mutating func noteJoinedEvent(room: String, connectionID: UInt64, seq: UInt64) -> Bool {
        guard let requestID = joins[JoinKey(room: room, connectionID: connectionID)] else { return false }
        requests[requestID]?.joinedSeqSeen = seq
        return true
    }

    /// Ends `room`'s replay in flight if it is `requestID`; false when the room no longer waits for it.
    mutating func endReplay(_ requestID: UInt32, of room: String) -> Bool {
        guard replays[room] == requestID else { return false }
        replays[room] = nil
        return true
    }

    /// Forgets `room`'s replay in flight: its reply will be stale.
    mutating func forgetReplay(of room: String) {
        replays[room] = nil
    }

    // MARK: Resends after a failover

    /// Sets a client command aside to go out again once an active answers. The link's own request
    /// (hello, heartbeat, replay), which is never resent, is removed instead and returned.
    mutating func setAsideForResend(_ requestID: UInt32) -> Request? {
        if requests[requestID]?.command != nil {
            requests[requestID]?.awaitingResend = true
            return nil
        }
        return remove(requestID)
    }

    /// Whether some client command waits to be resent.
    var hasAwaitingResend: Bool { requests.values.contains { $0.awaitingResend } }

    /// Sends the commands set aside again, in request order, to `broker` at `now`: the same body and
    /// request id, the time left to the first deadline as `ttl`. Past its deadline, or when the broker
    /// `restarted` (it lost every room), a command is removed as lost instead.
    mutating func resendAwaiting(to broker: Int, epoch: UInt64, now: UInt64, restarted: Bool) -> [Resend] {
        var outcomes: [Resend] = []
        for requestID in requests.keys.sorted() {
            guard var request = requests[requestID], request.awaitingResend, var command = request.command else {
                continue
            }
            if restarted || request.deadline <= now {
                _ = remove(requestID)
                outcomes.append(.lost(requestID: requestID, request))
                continue
            }
            command.sentAt = now
            command.ttl = UInt32(clamping: request.deadline - now)
            request.command = command
            request.broker = broker
            request.awaitingResend = false
            request.resent = true
            request.epoch = epoch
            requests[requestID] = request
            outcomes.append(.resent(command))
        }
        return outcomes
    }

    /// The next free request id (never 0).
    private mutating func takeRequestID() -> UInt32 {
        repeat {
            lastRequestID &+= 1
        } while lastRequestID == 0 || requests[lastRequestID] != nil
        return lastRequestID
    }
}
