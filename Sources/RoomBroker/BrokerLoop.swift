import ChatWire
import Foundation
import Logging
import RoomBrokerCore
import Synchronization
import ZeroMQ

/// The broker's ZeroMQ thread: owns the ROUTER and XPUB sockets and the ``BrokerEngine``.
///
/// libzmq sockets belong to one thread, so everything happens on one dedicated thread that
/// blocks in `zmq_poll`; the engine is plain state touched only there.
final class BrokerLoop: Sendable {
    private let configuration: BrokerConfiguration
    private let logger: Logger
    private let stopRequested = Atomic<Bool>(false)
    private let finished = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let hasFinished = Atomic<Bool>(false)
    /// How often silent gateways and empty rooms are checked, ms.
    private static let tickMilliseconds: UInt64 = 250

    init(configuration: BrokerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Binds both sockets on the loop thread and starts serving; throws when a bind fails.
    func start() async throws {
        try await withCheckedThrowingContinuation { (ready: CheckedContinuation<Void, Error>) in
            let thread = Thread { [self] in
                self.threadMain(ready: ready)
            }
            thread.name = "broker-zmq"
            thread.start()
        }
    }

    /// Asks the loop to stop; it closes its sockets within one poll interval.
    func stop() {
        stopRequested.store(true, ordering: .relaxed)
    }

    /// Returns once the loop thread has closed its sockets.
    func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = finished.withLock { slot -> Bool in
                if hasFinished.load(ordering: .acquiring) { return true }
                slot = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func threadMain(ready: CheckedContinuation<Void, Error>) {
        defer {
            let continuation = finished.withLock { slot -> CheckedContinuation<Void, Never>? in
                hasFinished.store(true, ordering: .releasing)
                defer { slot = nil }
                return slot
            }
            continuation?.resume()
        }
        let context: ZMQContext
        let commands: ZMQSocket
        let broadcasts: ZMQSocket
        do {
            context = try ZMQContext()
            commands = try context.socket(.router)
            try commands.set(.routerMandatory(true))
            try commands.set(.routerHandover(true))
            // Queue up to 100k commands and replies per gateway instead of libzmq's default 1000,
            // so a burst from many clients is not refused or dropped.
            try commands.set(.sendHighWaterMark(100_000))
            try commands.set(.receiveHighWaterMark(100_000))
            // A gateway sending a larger command is disconnected by libzmq before it is buffered.
            try commands.set(.maxMessageSize(Int64(WireFormat.maxFrameSize)))
            try commands.bind(configuration.commandsEndpoint)
            // XPUB rather than PUB: it also tells the broker of each new subscription (verbose: every
            // one, not only the first per topic), which it answers with a marker on that topic.
            broadcasts = try context.socket(.xpub)
            try broadcasts.set(.xpubVerbose(true))
            try broadcasts.set(.sendHighWaterMark(configuration.broadcastHighWaterMark))
            // Inbound on an XPUB are only subscriptions: a flag byte and a room topic.
            try broadcasts.set(.maxMessageSize(256))
            try broadcasts.bind(configuration.broadcastsEndpoint)
        } catch {
            ready.resume(throwing: error)
            return
        }
        logger.info("listening", metadata: [
            "commands": "\(configuration.commandsEndpoint)", "broadcasts": "\(configuration.broadcastsEndpoint)",
        ])
        ready.resume()
        serve(commands: commands, broadcasts: broadcasts)
        commands.close()
        broadcasts.close()
        logger.info("stopped")
        _ = context
    }

    private func serve(commands: ZMQSocket, broadcasts: ZMQSocket) {
        var engine = BrokerEngine(
            configuration: configuration.registry,
            gatewayTimeoutMilliseconds: configuration.gatewayTimeoutMilliseconds,
            logger: logger)
        let poller = ZMQPoller([.socket(commands), .socket(broadcasts)])
        // Ticks run on the monotonic clock: stepping the wall clock neither drops gateways nor stops timers.
        var nextTick = MonotonicClock.milliseconds() + Self.tickMilliseconds
        while !stopRequested.load(ordering: .relaxed) {
            do {
                let readable = try poller.poll(timeoutMilliseconds: 100)
                if readable[0] {
                    // Drain what is waiting, then tick: a busy broker still expires gateways and rooms.
                    for _ in 0..<10_000 {
                        guard let frames = try commands.receive(dontWait: true) else { break }
                        handle(frames, engine: &engine, commands: commands, broadcasts: broadcasts)
                    }
                }
                if readable[1] {
                    // Subscription messages: 0x01 + topic (subscribe) or 0x00 + topic (unsubscribe).
                    while let message = try broadcasts.receive(dontWait: true) {
                        guard let frame = message.first, frame.first == 1 else { continue }
                        send(engine.subscribed(topic: Array(frame.dropFirst())), to: nil, commands: commands, broadcasts: broadcasts)
                    }
                }
                let now = BrokerClock.now()
                if now.monotonic >= nextTick {
                    nextTick = now.monotonic + Self.tickMilliseconds
                    send(engine.tick(now: now), to: nil, commands: commands, broadcasts: broadcasts)
                }
            } catch {
                logger.error("zmq-error", metadata: ["reason": "\(error)"])
            }
        }
    }

    private func handle(_ frames: [[UInt8]], engine: inout BrokerEngine, commands: ZMQSocket, broadcasts: ZMQSocket) {
        guard let identity = frames.first else { return }
        let gateway = String(decoding: identity, as: UTF8.self)
        let frame = frames.count == 2 ? frames[1] : []
        let output = engine.handle(frame: frame, from: gateway, now: BrokerClock.now())
        send(output, to: identity, commands: commands, broadcasts: broadcasts)
    }

    private func send(_ output: BrokerOutput, to identity: [UInt8]?, commands: ZMQSocket, broadcasts: ZMQSocket) {
        // Publish before replying: a gateway that subscribed before forwarding a join then sees the
        // joined event no later than the reply that tells it the join's sequence number.
        for broadcast in output.broadcasts {
            do {
                try broadcasts.send(broadcast.encoded())
            } catch {
                logger.error("publish-failed", metadata: ["room": "\(broadcast.room)", "reason": "\(error)"])
            }
        }
        if let reply = output.reply, let identity {
            let frame = reply.encoded()
            // The engine trims replies to fit; a larger one would be refused by the gateway's
            // ZMQ_MAXMSGSIZE and disconnect it, so it is never sent.
            guard frame.count <= WireFormat.maxFrameSize else {
                logger.error("reply-too-large", metadata: [
                    "gateway": "\(String(decoding: identity, as: UTF8.self))", "reason": "\(reply.kind): \(frame.count) bytes",
                ])
                return
            }
            do {
                if try !commands.send([identity, frame], dontWait: true) {
                    logger.warning("reply-dropped", metadata: ["gateway": "\(String(decoding: identity, as: UTF8.self))"])
                }
            } catch {
                logger.error("reply-failed", metadata: ["reason": "\(error)"])
            }
        }
    }

}
