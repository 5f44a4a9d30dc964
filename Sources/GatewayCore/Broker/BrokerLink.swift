import ChatWire
import Foundation
import Logging
import Synchronization
import ZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The gateway's ZeroMQ side: one thread owning a DEALER (commands) and a SUB (room broadcasts).
///
/// Event loops hand it requests through a locked inbox and an eventfd that wakes its `zmq_poll`.
/// It matches replies to requests, keeps each room's broadcasts in sequence order (``RoomFeed``),
/// and passes batches of events to a ``BroadcastSink``.
public final class BrokerLink: Sendable {
    /// The outcome of one command.
    public typealias Completion = @Sendable (Result<WireReply.Success, ChatError>) -> Void

    private enum Request: Sendable {
        case command(WireCommand.Body, connectionID: UInt64, client: String, completion: Completion?)
        case follow(String)
        case unfollow(String)
    }

    private struct Pending {
        /// Who waits for the reply.
        enum Waiter {
            /// A client command (or a fire-and-forget one, nil).
            case client(Completion?)
            /// The link's own replay of a gap in `room`.
            case replay(room: String)
        }

        var kind: CommandKind
        var deadline: UInt64
        var waiter: Waiter
    }

    private let configuration: BrokerLinkConfiguration
    private let logger: Logger
    private let inbox = Mutex<[Request]>([])
    /// The read and write ends of the pipe that wakes the link's `zmq_poll`.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let stopRequested = Atomic<Bool>(false)
    private let lastReplyAt = Atomic<UInt64>(0)
    private let sink = Mutex<(any BroadcastSink)?>(nil)
    private let stopped = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let hasStopped = Atomic<Bool>(false)

    /// A link that is not started yet.
    public init(configuration: BrokerLinkConfiguration, logger: Logger) throws(ZMQError) {
        self.configuration = configuration
        self.logger = logger
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw ZMQError.failed(operation: "pipe", errno: errno, message: String(cString: strerror(errno)))
        }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    /// Sets where broadcasts go; call before ``start()``.
    public func setSink(_ sink: any BroadcastSink) {
        self.sink.withLock { $0 = sink }
    }

    /// Whether the broker answered recently (for `/healthz`).
    public var isBrokerReachable: Bool {
        let last = lastReplyAt.load(ordering: .relaxed)
        return last != 0 && WallClock.milliseconds() &- last <= configuration.healthWindowMilliseconds
    }

    /// Connects both sockets on the link's own thread and starts serving; throws when a socket fails.
    public func start() async throws {
        try await withCheckedThrowingContinuation { (ready: CheckedContinuation<Void, Error>) in
            let thread = Thread { [self] in self.threadMain(ready: ready) }
            thread.name = "broker-link"
            thread.start()
        }
    }

    /// Stops the thread and waits until its sockets are closed.
    public func stop() async {
        stopRequested.store(true, ordering: .relaxed)
        wake()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = stopped.withLock { waiting -> Bool in
                if hasStopped.load(ordering: .acquiring) { return true }
                waiting.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Sends `body` for `connectionID` from address `client`; `completion` runs on the link's thread
    /// with the outcome.
    public func send(_ body: WireCommand.Body, connectionID: UInt64, client: String = "", completion: Completion?) {
        enqueue(.command(body, connectionID: connectionID, client: client, completion: completion))
    }

    /// Subscribes to `room` (counted: each follow needs one unfollow). Call before sending its join.
    public func follow(_ room: String) {
        enqueue(.follow(room))
    }

    /// Drops one follow of `room`; the last one unsubscribes.
    public func unfollow(_ room: String) {
        enqueue(.unfollow(room))
    }

    private func enqueue(_ request: Request) {
        let wasEmpty = inbox.withLock { queue -> Bool in
            queue.append(request)
            return queue.count == 1
        }
        if wasEmpty { wake() }
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    // MARK: - The link thread

    /// A join held back until its room's subscription is live.
    private struct ParkedJoin {
        var body: WireCommand.Body
        var connectionID: UInt64
        var client: String
        var waiter: Pending.Waiter
        var deadline: UInt64
    }

    private final class ThreadState {
        let dealer: ZMQSocket
        let subscriber: ZMQSocket
        var pending: [UInt32: Pending] = [:]
        /// Followed rooms whose subscription the broker has confirmed.
        var live: Set<String> = []
        /// Joins waiting for their room's subscription to go live, by room.
        var parked: [String: [ParkedJoin]] = [:]
        var nextRequestID: UInt32 = 1
        var follows: [String: Int] = [:]
        var feed = RoomFeed()
        var batch: [RoomBroadcastFrame] = []
        var nextHeartbeat: UInt64 = 0
        /// The broker instance that answered the last hello or heartbeat.
        var brokerInstance: String?

        init(dealer: ZMQSocket, subscriber: ZMQSocket) {
            self.dealer = dealer
            self.subscriber = subscriber
        }
    }

    private func threadMain(ready: CheckedContinuation<Void, Error>) {
        defer {
            let waiting = stopped.withLock { waiting -> [CheckedContinuation<Void, Never>] in
                hasStopped.store(true, ordering: .releasing)
                defer { waiting = [] }
                return waiting
            }
            for continuation in waiting { continuation.resume() }
        }
        let context: ZMQContext
        let state: ThreadState
        do {
            context = try ZMQContext()
            let dealer = try context.socket(.dealer)
            try dealer.set(.routingID(Array(configuration.gatewayID.utf8)))
            // Fail commands at once while the broker is not connected, instead of queueing them.
            try dealer.set(.immediate(true))
            // Many clients' commands may be in flight at once: do not refuse them at libzmq's default of 1000.
            try dealer.set(.sendHighWaterMark(100_000))
            try dealer.set(.receiveHighWaterMark(100_000))
            try dealer.set(.maxMessageSize(Int64(WireFormat.maxFrameSize)))
            try dealer.connect(configuration.commandsEndpoint)
            let subscriber = try context.socket(.sub)
            try subscriber.set(.receiveHighWaterMark(100_000))
            try subscriber.set(.maxMessageSize(Int64(WireFormat.maxPayloadSize)))
            try subscriber.connect(configuration.broadcastsEndpoint)
            state = ThreadState(dealer: dealer, subscriber: subscriber)
        } catch {
            ready.resume(throwing: error)
            return
        }
        ready.resume()
        logger.info("broker-link", metadata: [
            "gateway": "\(configuration.gatewayID)", "commands": "\(configuration.commandsEndpoint)",
            "broadcasts": "\(configuration.broadcastsEndpoint)",
        ])
        run(state)
        for (_, pending) in state.pending {
            complete(pending.waiter, with: .failure(ChatError(.brokerUnavailable, "the gateway is shutting down")), state: state)
        }
        state.dealer.close()
        state.subscriber.close()
        _ = context
    }

    private func run(_ state: ThreadState) {
        let poller = ZMQPoller([.socket(state.dealer), .socket(state.subscriber), .fileDescriptor(wakeRead)])
        var helloSent = false
        while !stopRequested.load(ordering: .relaxed) {
            let now = WallClock.milliseconds()
            if now >= state.nextHeartbeat {
                // Until the broker first answers, say hello every 100 ms so /healthz turns green quickly.
                let answered = lastReplyAt.load(ordering: .relaxed) != 0
                state.nextHeartbeat = now + (answered ? configuration.heartbeatMilliseconds : 100)
                // Until the broker has answered, keep saying hello; afterwards a heartbeat.
                let body: WireCommand.Body = helloSent && lastReplyAt.load(ordering: .relaxed) != 0
                    ? .heartbeat : .hello(gatewayName: configuration.gatewayID)
                helloSent = true
                sendCommand(body, connectionID: 0, waiter: .client(nil), state: state, now: now)
            }
            expire(state, now: now)
            let readable: [Bool]
            do {
                readable = try poller.poll(timeoutMilliseconds: 100)
            } catch {
                logger.error("zmq-error", metadata: ["reason": "\(error)"])
                continue
            }
            if readable[2] {
                var scratch = [UInt8](repeating: 0, count: 256)
                while read(wakeRead, &scratch, scratch.count) > 0 {}
            }
            drainInbox(state)
            if readable[0] { drainReplies(state) }
            if readable[1] { drainBroadcasts(state) }
            flush(state)
        }
    }

    private func drainInbox(_ state: ThreadState) {
        let requests = inbox.withLock { queue -> [Request] in
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        let now = WallClock.milliseconds()
        for request in requests {
            switch request {
            case .command(let body, let connectionID, let client, let completion):
                if case .join(let room, _, _) = body, state.follows[room] != nil, !state.live.contains(room) {
                    // Send the join only once the subscription is live, so no event after it is missed.
                    state.parked[room, default: []].append(ParkedJoin(
                        body: body, connectionID: connectionID, client: client, waiter: .client(completion),
                        deadline: now + Self.subscriptionWaitMilliseconds))
                    continue
                }
                if case .disconnect = body {
                    // A join parked for this connection must not reach the broker after its disconnect.
                    for (room, joins) in state.parked {
                        let (gone, kept) = (joins.filter { $0.connectionID == connectionID }, joins.filter { $0.connectionID != connectionID })
                        state.parked[room] = kept.isEmpty ? nil : kept
                        for join in gone {
                            complete(join.waiter, with: .failure(ChatError(.brokerUnavailable, "the connection closed")), state: state)
                        }
                    }
                }
                sendCommand(body, connectionID: connectionID, client: client, waiter: .client(completion), state: state, now: now)
            case .follow(let room):
                state.follows[room, default: 0] += 1
                if state.follows[room] == 1 {
                    do {
                        try state.subscriber.subscribe(WireFormat.topic(room: room))
                    } catch {
                        logger.error("subscribe-failed", metadata: ["room": "\(room)", "reason": "\(error)"])
                    }
                    state.feed.follow(room)
                }
            case .unfollow(let room):
                guard let count = state.follows[room] else { continue }
                if count > 1 {
                    state.follows[room] = count - 1
                } else {
                    state.follows[room] = nil
                    state.live.remove(room)
                    try? state.subscriber.unsubscribe(WireFormat.topic(room: room))
                    state.feed.forget(room)
                }
            }
        }
    }

    private func sendCommand(
        _ body: WireCommand.Body, connectionID: UInt64, client: String = "", waiter: Pending.Waiter, state: ThreadState, now: UInt64
    ) {
        let requestID = state.nextRequestID
        state.nextRequestID &+= 1
        if state.nextRequestID == 0 { state.nextRequestID = 1 }
        let frame = WireCommand(requestID: requestID, connectionID: connectionID, client: client, body: body).encoded()
        let sent: Bool
        do {
            sent = try state.dealer.send([frame], dontWait: true)
        } catch {
            logger.error("send-failed", metadata: ["reason": "\(error)"])
            sent = false
        }
        guard sent else {
            complete(waiter, with: .failure(ChatError(.brokerUnavailable, "the room broker is not reachable; try again in a moment")), state: state)
            return
        }
        state.pending[requestID] = Pending(kind: body.kind, deadline: now + configuration.requestTimeoutMilliseconds, waiter: waiter)
    }

    /// Hands a reply to whoever waits for it.
    private func complete(_ waiter: Pending.Waiter, with result: Result<WireReply.Success, ChatError>, state: ThreadState) {
        switch waiter {
        case .client(let completion):
            completion?(result)
        case .replay(let room):
            switch result {
            case .success(let success):
                apply(state.feed.replayed(room: room, events: success.events.map { ($0.seq, $0.payload) }), state: state)
            case .failure(let error):
                logger.warning("replay-failed", metadata: ["room": "\(room)", "reason": "\(error.code.code)"])
                apply(state.feed.replayFailed(room: room), state: state)
            }
        }
    }

    private func drainReplies(_ state: ThreadState) {
        for _ in 0..<10_000 {
            let frames: [[UInt8]]
            do {
                guard let received = try state.dealer.receive(dontWait: true) else { return }
                frames = received
            } catch {
                logger.error("receive-failed", metadata: ["reason": "\(error)"])
                return
            }
            lastReplyAt.store(WallClock.milliseconds(), ordering: .relaxed)
            guard frames.count == 1, let reply = try? WireReply.decode(frames[0]) else {
                logger.warning("bad-reply", metadata: ["reason": "undecodable reply from the broker"])
                continue
            }
            guard let pending = state.pending.removeValue(forKey: reply.requestID) else { continue }
            if pending.kind == .hello || pending.kind == .heartbeat, case .success(let success) = reply.result {
                noticeBrokerInstance(success.room, state: state)
            }
            if reply.kind == .invalid {
                logger.error("broker-refused-frame", metadata: ["reason": "\(reply.result)"])
            }
            if pending.kind == .join, case .success(let success) = reply.result {
                // Release what the feed held for this room before the member's join completes.
                apply(state.feed.joined(success.room, seq: success.seq), state: state)
            }
            let result = reply.result.mapError { error in
                reply.kind == .invalid ? ChatError(.internalError, "the broker could not read a command: \(error.message)") : error
            }
            complete(pending.waiter, with: result, state: state)
        }
    }

    private func drainBroadcasts(_ state: ThreadState) {
        for _ in 0..<4_096 {
            let frames: [[UInt8]]
            do {
                guard let received = try state.subscriber.receive(dontWait: true) else { return }
                frames = received
            } catch {
                logger.error("receive-failed", metadata: ["reason": "\(error)"])
                return
            }
            do {
                let broadcast = try WireBroadcast.decode(frames)
                if broadcast.kind == .head {
                    receivedHead(broadcast.room, lastSeq: broadcast.seq, state: state)
                } else {
                    apply(state.feed.receive(room: broadcast.room, seq: broadcast.seq, payload: broadcast.payload), state: state)
                }
            } catch {
                logger.warning("bad-broadcast", metadata: ["reason": "\(error)"])
            }
        }
    }

    private func apply(_ actions: [RoomFeed.Action], state: ThreadState) {
        for action in actions {
            switch action {
            case .deliver(let room, let seq, let payload):
                state.batch.append(RoomBroadcastFrame(room: room, seq: seq, payload: payload))
            case .requestReplay(let room, let from, let to):
                logger.notice("gap", metadata: ["room": "\(room)", "reason": "replaying \(from)...\(to)"])
                sendCommand(.replay(room: room, from: from, to: to), connectionID: 0, waiter: .replay(room: room), state: state, now: WallClock.milliseconds())
            case .resync(let room):
                flush(state)
                sink.withLock { $0 }?.resync(room: room, reason: "missed events of room \(room); reconnect and join again")
            }
        }
    }

    private func flush(_ state: ThreadState) {
        guard !state.batch.isEmpty else { return }
        let batch = state.batch
        state.batch.removeAll(keepingCapacity: true)
        sink.withLock { $0 }?.deliver(batch)
    }

    /// A hello or heartbeat reply named the broker `instance`. When it changed, the broker restarted and
    /// lost every room: members here are disconnected so that their clients find out.
    private func noticeBrokerInstance(_ instance: String, state: ThreadState) {
        defer { state.brokerInstance = instance }
        guard let previous = state.brokerInstance, previous != instance, !instance.isEmpty else { return }
        logger.warning("broker-restarted", metadata: ["reason": "rooms were lost; disconnecting their members"])
        for room in state.follows.keys.sorted() {
            state.feed.forget(room)
            state.feed.follow(room)
            state.live.remove(room)
            sink.withLock { $0 }?.resync(room: room, reason: "the room broker restarted and room \(room) is gone; create or join a room again")
        }
    }

    /// The broker published `room`'s head: the subscription is live, so the joins that waited for it
    /// go out; and any event up to `lastSeq` still missing here is replayed.
    private func receivedHead(_ room: String, lastSeq: UInt64, state: ThreadState) {
        guard state.follows[room] != nil else { return }
        state.live.insert(room)
        sendParked(room, state: state)
        apply(state.feed.announced(room: room, lastSeq: lastSeq), state: state)
    }

    private func sendParked(_ room: String, state: ThreadState) {
        guard let joins = state.parked.removeValue(forKey: room) else { return }
        let now = WallClock.milliseconds()
        for join in joins {
            sendCommand(join.body, connectionID: join.connectionID, client: join.client, waiter: join.waiter, state: state, now: now)
        }
    }

    private func expire(_ state: ThreadState, now: UInt64) {
        for (room, joins) in state.parked where joins.contains(where: { $0.deadline <= now }) {
            // The confirmation never came (an old broker, or a lost marker): join anyway; gaps are
            // still filled by sequence number.
            logger.notice("subscription-unconfirmed", metadata: ["room": "\(room)"])
            sendParked(room, state: state)
        }
        let expired = state.pending.filter { $0.value.deadline <= now }
        for (requestID, pending) in expired {
            state.pending[requestID] = nil
            complete(pending.waiter, with: .failure(ChatError(.brokerUnavailable, "the room broker did not answer in time; try again")), state: state)
        }
        flush(state)
    }

    /// How long a join waits for its room's subscription to be confirmed, ms.
    static let subscriptionWaitMilliseconds: UInt64 = 2_000

}
