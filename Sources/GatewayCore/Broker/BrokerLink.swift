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

/// The gateway's ZeroMQ side: one thread owning a DEALER (commands) and a SUB (room broadcasts) per
/// broker (one, or the two of a pair; subscriptions go to both SUB sockets, so they are live on the
/// standby before it takes over, and the state machine drops what the broker it does not follow sends).
///
/// Event loops hand it requests through a locked inbox and a pipe that wakes its `zmq_poll`. The
/// thread feeds requests, replies, broadcasts and ticks to a ``BrokerLinkState`` and executes the
/// actions it returns: sending, subscribing, completing requests, and passing batches of events to
/// a ``BroadcastSink``.
public final class BrokerLink: Sendable {
    /// The outcome of one command.
    public typealias Completion = @Sendable (Result<WireReply.Success, ChatError>) -> Void
    /// Where the brokers' answers to ``requestStatus()`` go: the broker's index and its reply, or the
    /// failure to send it the request.
    public typealias StatusHandler = @Sendable (_ broker: Int, _ result: Result<WireReply.Success, ChatError>) -> Void
    private typealias State = BrokerLinkState<Completion>

    /// Most replies and broadcasts read per wake-up before the link looks at its inbox and timers again.
    private static let readBudget = 4_096
    /// How long the link waits before looking again whether backlogged event loops caught up, ms.
    private static let backlogRecheckMilliseconds = 5

    private let configuration: BrokerLinkConfiguration
    private let logger: Logger
    private let inbox = Mutex<[State.Request]>([])
    /// The read and write ends of the pipe that wakes the link's `zmq_poll`.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let thread = ZMQLoopThread(name: "broker-link")
    /// When the followed broker last answered (``MonotonicClock``, ms; 0: never, or failing over).
    private let lastReplyAt = Atomic<UInt64>(0)
    /// Where broadcasts and room disconnects go (the fan-out).
    private let sink: any BroadcastSink
    /// Where the answers to ``requestStatus()`` go (nil: nobody asks).
    private let statusHandler: StatusHandler?
    private let statusWanted = Atomic<Bool>(false)

    /// A link that is not started yet, handing broadcasts to `sink` and status answers to
    /// `statusHandler`.
    public init(
        configuration: BrokerLinkConfiguration,
        logger: Logger,
        sink: any BroadcastSink,
        statusHandler: StatusHandler? = nil
    ) throws(ZMQError) {
        self.configuration = configuration
        self.logger = logger
        self.sink = sink
        self.statusHandler = statusHandler
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

    /// Whether the followed broker answered recently (for `/healthz`).
    public var isBrokerReachable: Bool {
        let last = lastReplyAt.load(ordering: .relaxed)
        return last != 0 && MonotonicClock.milliseconds() &- last <= configuration.healthWindowMilliseconds
    }

    /// Connects both sockets on the link's own thread and starts serving; throws when a socket fails.
    public func start() async throws {
        // The body's end is the context's: its termination waits for the linger of the last disconnects.
        try await thread.start { [self] start in self.serve(start) }
    }

    /// Stops the thread and waits until its sockets are closed: the commands still queued are
    /// answered with `broker_unavailable`, except disconnects, which go out first (the DEALER lingers
    /// up to ``BrokerLinkConfiguration/lingerMilliseconds`` to deliver them).
    public func stop() async {
        thread.requestStop()
        wake()
        await thread.waitUntilStopped()
    }

    /// Sends `body` for `connectionID` from address `client`; `completion` runs on the link's thread
    /// with the outcome. The idempotency key of `create`, `message` and `post` travels in `body`.
    public func send(_ body: WireCommand.Body, connectionID: UInt64, client: String = "", completion: Completion?) {
        enqueue(.command(body, connectionID: connectionID, client: client, caller: completion))
    }

    /// Sends a `status` command to every broker, followed or not (docs/PROTOCOL.md, "Status"); each
    /// answer, or the failure to send it, goes to the status handler on the link's thread. Outside the
    /// state machine: a broker that does not answer is only not heard from.
    public func requestStatus() {
        statusWanted.store(true, ordering: .relaxed)
        wake()
    }

    /// Subscribes to `room` (counted: each follow needs one unfollow). Call before sending its join.
    public func follow(_ room: String) {
        enqueue(.follow(room))
    }

    /// Drops one follow of `room`; the last one unsubscribes.
    public func unfollow(_ room: String) {
        enqueue(.unfollow(room))
    }

    private func enqueue(_ request: State.Request) {
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

    /// What the thread owns.
    private final class Sockets {
        /// One DEALER and one SUB per broker, in the configuration's order.
        let dealers: [ZMQSocket]
        let subscribers: [ZMQSocket]
        var state: State
        /// Events to hand to the sink at the end of this round (or before a disconnect action).
        var batch: [RoomBroadcastFrame] = []
        /// Whether reading broadcasts is paused because the event loops are behind, and since when.
        var pausedSince: UInt64?
        var pauses = 0
        var lastPauseLog: UInt64?

        init(dealers: [ZMQSocket], subscribers: [ZMQSocket], state: State) {
            self.dealers = dealers
            self.subscribers = subscribers
            self.state = state
        }
    }

    private func serve(_ start: ZMQLoopThread.Start) {
        let context: ZMQContext
        let sockets: Sockets
        do {
            context = try ZMQContext()
            var dealers: [ZMQSocket] = []
            var subscribers: [ZMQSocket] = []
            for (index, broker) in configuration.brokers.enumerated() {
                let curve = try configuration.curve?.option(forServer: index)
                let dealer = try context.socket(.dealer)
                if let curve { try dealer.set(curve) }
                try dealer.set(.routingID(Array(configuration.gatewayID.utf8)))
                // Fail commands at once while the broker is not connected, instead of queueing them.
                try dealer.set(.immediate(true))
                // Many clients' commands may be in flight at once: do not refuse them at libzmq's default of 1000.
                try dealer.set(.sendHighWaterMark(100_000))
                try dealer.set(.receiveHighWaterMark(100_000))
                try dealer.set(.maxMessageSize(Int64(WireFormat.maxFrameSize)))
                // On stop, the last disconnects get this long to leave.
                try dealer.set(.linger(milliseconds: Int32(clamping: configuration.lingerMilliseconds)))
                try dealer.connect(broker.commands)
                dealers.append(dealer)
                let subscriber = try context.socket(.sub)
                if let curve { try subscriber.set(curve) }
                try subscriber.set(.receiveHighWaterMark(100_000))
                try subscriber.set(.maxMessageSize(Int64(WireFormat.maxPayloadSize)))
                try subscriber.connect(broker.broadcasts)
                subscribers.append(subscriber)
            }
            sockets = Sockets(dealers: dealers, subscribers: subscribers, state: State(configuration: configuration))
        } catch {
            start.failed(error)
            return
        }
        start.ready()
        logger.info(
            "broker-link",
            metadata: [
                "gateway": "\(configuration.gatewayID)",
                "commands": "\(configuration.brokers.map(\.commands).joined(separator: " "))",
                "broadcasts": "\(configuration.brokers.map(\.broadcasts).joined(separator: " "))",
            ]
        )
        run(sockets)
        // Graceful stop: what the event loops queued last (their members' disconnects) still goes out.
        let requests = inbox.withLock { queue -> [State.Request] in
            defer { queue.removeAll() }
            return queue
        }
        execute(sockets.state.shutdown(requests, now: MonotonicClock.milliseconds()), sockets)
        flush(sockets)
        for socket in sockets.dealers + sockets.subscribers { socket.close() }
        _ = context
    }

    private func run(_ sockets: Sockets) {
        // Items: the DEALERs, the wake pipe, then the SUBs (left out while the event loops are behind).
        let brokers = sockets.dealers.count
        let commands = sockets.dealers.map { ZMQPoller.Item.socket($0) } + [.fileDescriptor(wakeRead)]
        let everything = ZMQPoller(commands + sockets.subscribers.map { .socket($0) })
        let commandsOnly = ZMQPoller(commands)
        while !thread.isStopRequested {
            execute(sockets.state.tick(now: MonotonicClock.milliseconds()), sockets)
            flush(sockets)
            // While the event loops are behind, leave broadcasts in ZeroMQ's queues (bounded by the
            // high-water marks; what the broker then drops is replayed by sequence number later).
            let backlogged = updateBacklog(sockets)
            let readable: ZMQReadiness
            do {
                readable =
                    backlogged
                    ? try commandsOnly.poll(timeoutMilliseconds: Self.backlogRecheckMilliseconds)
                    : try everything.poll(timeoutMilliseconds: 100)
            } catch {
                logger.error("zmq-error", metadata: ["reason": "\(error)"])
                continue
            }
            if readable.isReadable(fileDescriptor: wakeRead) {
                var scratch = [UInt8](repeating: 0, count: 256)
                while read(wakeRead, &scratch, scratch.count) > 0 {}
            }
            drainInbox(sockets)
            if statusWanted.exchange(false, ordering: .relaxed) { sendStatusRequests(sockets) }
            for broker in 0..<brokers where readable.isReadable(sockets.dealers[broker]) {
                drainReplies(sockets, from: broker)
            }
            // Looked at again: the loops may have fallen behind while the poll waited.
            if !backlogged, !updateBacklog(sockets) {
                for broker in 0..<brokers where readable.isReadable(sockets.subscribers[broker]) {
                    drainBroadcasts(sockets, from: broker)
                }
            }
            flush(sockets)
            lastReplyAt.store(sockets.state.followedAnsweredAt.map { max($0, 1) } ?? 0, ordering: .relaxed)
        }
    }

    /// Whether the sink is backlogged; logs when reading broadcasts pauses (at most every 5 s).
    private func updateBacklog(_ sockets: Sockets) -> Bool {
        let backlogged = sink.isBacklogged
        let now = MonotonicClock.milliseconds()
        if backlogged, sockets.pausedSince == nil {
            sockets.pausedSince = now
            sockets.pauses += 1
            if sockets.lastPauseLog.map({ now - $0 >= 5_000 }) ?? true {
                logger.warning(
                    "broadcasts-paused",
                    metadata: [
                        "reason": "event loops are behind; broadcasts wait in ZeroMQ", "count": "\(sockets.pauses)",
                    ]
                )
                sockets.lastPauseLog = now
                sockets.pauses = 0
            }
        } else if !backlogged {
            sockets.pausedSince = nil
        }
        return backlogged
    }

    private func drainInbox(_ sockets: Sockets) {
        let requests = inbox.withLock { queue -> [State.Request] in
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        let now = MonotonicClock.milliseconds()
        for request in requests {
            execute(sockets.state.handle(request, now: now), sockets)
        }
    }

    private func drainReplies(_ sockets: Sockets, from broker: Int) {
        for _ in 0..<Self.readBudget {
            let frames: [[UInt8]]
            do {
                guard let received = try sockets.dealers[broker].receive(dontWait: true) else { return }
                frames = received
            } catch {
                logger.error("receive-failed", metadata: ["reason": "\(error)"])
                return
            }
            let now = MonotonicClock.milliseconds()
            guard frames.count == 1, let reply = try? WireReply.decode(frames[0]) else {
                sockets.state.heard(from: broker, now: now)
                logger.warning(
                    "bad-reply",
                    metadata: ["reason": "undecodable reply from the broker", "broker": "\(broker)"]
                )
                continue
            }
            if reply.kind == .status {
                statusHandler?(broker, reply.result)
                continue
            }
            execute(sockets.state.received(reply, from: broker, now: now), sockets)
        }
    }

    /// One `status` command to each broker (request id 0: its reply is known by its kind).
    private func sendStatusRequests(_ sockets: Sockets) {
        let handler = statusHandler
        let frame = WireCommand(
            requestID: 0,
            connectionID: 0,
            sentAt: MonotonicClock.milliseconds(),
            ttl: UInt32(clamping: configuration.requestTimeoutMilliseconds),
            body: .status
        ).encoded()
        for (broker, dealer) in sockets.dealers.enumerated() where (try? dealer.send([frame], dontWait: true)) != true {
            handler?(broker, .failure(ChatError(.brokerUnavailable, "not connected to this broker")))
        }
    }

    private func drainBroadcasts(_ sockets: Sockets, from broker: Int) {
        let now = MonotonicClock.milliseconds()
        for _ in 0..<Self.readBudget {
            let frames: [[UInt8]]
            do {
                guard let received = try sockets.subscribers[broker].receive(dontWait: true) else { return }
                frames = received
            } catch {
                logger.error("receive-failed", metadata: ["reason": "\(error)"])
                return
            }
            do {
                execute(sockets.state.received(try WireBroadcast.decode(frames), from: broker, now: now), sockets)
            } catch {
                logger.warning("bad-broadcast", metadata: ["reason": "\(error)"])
            }
        }
    }

    private func execute(_ actions: [State.Action], _ sockets: Sockets) {
        for action in actions {
            switch action {
            case .send(let command, let broker):
                let sent: Bool
                do {
                    sent = try sockets.dealers[broker].send([command.encoded()], dontWait: true)
                } catch {
                    logger.error("send-failed", metadata: ["reason": "\(error)"])
                    sent = false
                }
                if !sent {
                    execute(
                        sockets.state.sendFailed(requestID: command.requestID, now: MonotonicClock.milliseconds()),
                        sockets
                    )
                }
            case .subscribe(let room):
                for subscriber in sockets.subscribers {
                    do {
                        try subscriber.subscribe(WireFormat.topic(room: room))
                    } catch {
                        logger.error("subscribe-failed", metadata: ["room": "\(room)", "reason": "\(error)"])
                    }
                }
            case .unsubscribe(let room):
                for subscriber in sockets.subscribers { try? subscriber.unsubscribe(WireFormat.topic(room: room)) }
            case .complete(let completion, let result):
                completion(result)
            case .deliver(let frame):
                sockets.batch.append(frame)
            case .disconnectMembers(let room, let reason):
                // Whatever came before the disconnect is delivered first.
                flush(sockets)
                sink.disconnectMembers(of: room, reason: reason)
            case .takeOver(let room, let connectionID, let payload):
                flush(sockets)
                sink.takeOver(room: room, connectionID: connectionID, payload: payload)
            case .notice(let notice):
                logger.log(level: notice.level, "\(notice.event)", metadata: notice.metadata)
            }
        }
    }

    private func flush(_ sockets: Sockets) {
        guard !sockets.batch.isEmpty else { return }
        let batch = sockets.batch
        sockets.batch.removeAll(keepingCapacity: true)
        sink.deliver(batch)
    }
}
