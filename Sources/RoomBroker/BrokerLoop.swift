import BrokerStorage
import ChatWire
import Foundation
import Logging
import RoomBrokerCore
import ZeroMQ

/// The broker's ZeroMQ thread: owns the ROUTER and XPUB sockets (and the peer link of a pair) and the
/// ``BrokerNode``, and carries out what the node decides.
///
/// libzmq sockets belong to one thread, so everything happens on one dedicated thread that
/// blocks in `zmq_poll`; the engine is plain state touched only there.
final class BrokerLoop: Sendable {
    let configuration: BrokerConfiguration
    let logger: Logger
    private let thread = ZMQLoopThread(name: "broker-zmq")
    /// Encodes and decodes snapshots off the loop thread.
    private let snapshotWorker = SnapshotWorker()
    /// `--authorized-keys` read again on SIGHUP.
    private let keyReload: KeyReload
    /// How often the metrics' gauges are set from the node's status, ms.
    static let metricsUpdateMilliseconds: UInt64 = 500
    /// Most peer frames, and bytes of them, read in one pass of the loop.
    static let peerFramesPerPass = 10_000
    static let peerBytesPerPass = 2 << 20
    /// Most commands whose updates wait for the end of a drain before they go to the standby.
    static let updatesPerMessage = 64

    init(configuration: BrokerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        keyReload = KeyReload(curve: configuration.curve, logger: logger)
    }

    /// Binds both sockets on the loop thread and starts serving; throws when a bind fails.
    func start() async throws {
        try await thread.start { [self] start in self.threadMain(start) }
    }

    /// Reads `--authorized-keys` again; the loop applies them within one poll interval (SIGHUP).
    func reloadKeys() {
        keyReload.load()
    }

    /// Asks the loop to stop; it closes its sockets within one poll interval.
    func stop() {
        thread.requestStop()
    }

    /// Returns once the loop thread has closed its sockets.
    func waitUntilStopped() async {
        await thread.waitUntilStopped()
    }

    private func threadMain(_ start: ZMQLoopThread.Start) {
        let context: ZMQContext
        var sockets: Sockets
        do {
            context = try ZMQContext()
            sockets = try openSockets(context)
        } catch {
            start.failed(error)
            return
        }
        var fields: Logger.Metadata = [
            "commands": "\(configuration.commandsEndpoint)", "broadcasts": "\(configuration.broadcastsEndpoint)",
        ]
        if let pair = configuration.pair {
            fields["role"] = "\(pair.role.rawValue)"
            fields["peer"] = "\(configuration.peerConnect ?? "")"
        }
        if let curve = configuration.curve {
            fields["curve"] = "\(curve.keyPair.publicKey.z85)"
            fields["authorized-keys"] = "\(curve.authorizedKeys.count)"
        } else {
            fields["curve"] = "off"
        }
        if configuration.registry.shard.count > 1 { fields["shard"] = "\(configuration.registry.shard)" }
        logger.info("listening", metadata: fields)
        start.ready()
        serve(&sockets, context)
        sockets.close()
        logger.info("stopped")
        _ = context
    }

    /// The loop's sockets: the gateways' ROUTER and XPUB, and in a pair the peer link (a ROUTER bound
    /// here that the peer's DEALER sends to, and a DEALER to the peer's ROUTER).
    struct Sockets {
        var commands: ZMQSocket
        var broadcasts: ZMQSocket
        var peerIn: ZMQSocket?
        var peerOut: ZMQSocket?
        /// With CURVE: the context's ZAP handler, which decides who may connect.
        var zap: ZAPHandler?
        /// Reports the commands socket's connections closing: a killed gateway's close at once.
        var gatewayConnections: ZMQConnectionMonitor
        /// Without CURVE: the peer link's connections (``LinkGuard`` listens to one at a time).
        var peerConnections: ZMQConnectionMonitor?

        func close() {
            gatewayConnections.close()
            peerConnections?.close()
            commands.close()
            broadcasts.close()
            peerIn?.close()
            peerOut?.close()
            zap?.close()
        }
    }

    private func openSockets(_ context: ZMQContext) throws -> Sockets {
        let curve = configuration.curve
        // The ZAP handler is bound before any CURVE socket: libzmq lets every client in while there is none.
        var zap: ZAPHandler?
        if let curve { zap = try ZAPHandler(context: context, authorizer: curve.authorizer) }
        let commands = try context.socket(.router)
        try curve?.serve(on: commands, domain: .gateways)
        try commands.set(.routerMandatory(true))
        // With CURVE a routing id is bound to a key: a second connection may not take it over.
        try commands.set(.routerHandover(curve == nil))
        // Queue up to 100k commands and replies per gateway instead of libzmq's default 1000,
        // so a burst from many clients is not refused or dropped.
        try commands.set(.sendHighWaterMark(100_000))
        try commands.set(.receiveHighWaterMark(100_000))
        // A gateway sending a larger command is disconnected by libzmq before it is buffered.
        try commands.set(.maxMessageSize(Int64(WireFormat.maxFrameSize)))
        try commands.bind(configuration.commandsEndpoint)
        let gatewayConnections = try ZMQConnectionMonitor(commands, name: "commands", context: context)
        let broadcasts = try openBroadcasts(context)
        var sockets = Sockets(
            commands: commands,
            broadcasts: broadcasts,
            zap: zap,
            gatewayConnections: gatewayConnections
        )
        if let bind = configuration.peerBind, let connect = configuration.peerConnect {
            let peerIn = try context.socket(.router)
            try curve?.serve(on: peerIn, domain: .peer)
            try peerIn.set(.maxMessageSize(Int64(PeerMessage.maxSize)))
            try peerIn.set(.receiveHighWaterMark(1_000_000))
            try peerIn.bind(bind)
            if curve == nil {
                sockets.peerConnections = try ZMQConnectionMonitor(peerIn, name: "peer", context: context)
            }
            let peerOut = try context.socket(.dealer)
            // Nothing is queued for a peer that is not connected: it catches up from a snapshot.
            try peerOut.set(.immediate(true))
            try peerOut.set(.sendHighWaterMark(1_000_000))
            try peerOut.set(.linger(milliseconds: 0))
            // Nothing but the peer's ROUTER talks to it, and that sends nothing back; bounded all the same.
            try peerOut.set(.maxMessageSize(Int64(PeerMessage.maxSize)))
            if let curve, let peerKey = curve.peerPublicKey {
                try peerOut.set(.curveClient(curve.keyPair, serverKey: peerKey))
            }
            try peerOut.connect(connect)
            sockets.peerIn = peerIn
            sockets.peerOut = peerOut
        }
        return sockets
    }

    private func serve(_ sockets: inout Sockets, _ context: ZMQContext) {
        var node = BrokerNode(
            configuration: configuration.registry,
            gatewayTimeoutMilliseconds: configuration.gatewayTimeoutMilliseconds,
            pair: configuration.pair,
            journaling: configuration.journal != nil,
            logger: logger,
            now: BrokerClock.now()
        )
        let journal = configuration.journal
        // `--fsync always`: replies and broadcasts wait until the journal has their inputs. Changed in
        // place (a copy of the gate would copy its queue for every command).
        let gating = journal?.mode == .always
        var gate = DurableGate()
        func run(_ actions: [NodeAction]) {
            guard gating, let journal else {
                perform(actions, sockets)
                return
            }
            let position = node.isActive ? node.lastUpdate : 0
            let durable = journal.isRefusing ? UInt64.max : journal.durablePosition
            var passing: [NodeAction] = []
            for action in actions {
                if let action = gate.pass(action, position: position, durable: durable) { passing.append(action) }
            }
            if !passing.isEmpty { perform(passing, sockets) }
        }
        if let recovered = configuration.recovered {
            recover(&node, from: recovered)
        }
        run(node.start())
        var items: [ZMQPoller.Item] = [
            .socket(sockets.commands), .socket(sockets.broadcasts), .socket(sockets.gatewayConnections.socket),
        ]
        // Which gateway each connection of the commands socket carries.
        var peers = ZMQPeerConnections()
        if let peerIn = sockets.peerIn { items.append(.socket(peerIn)) }
        if let zap = sockets.zap { items.append(.socket(zap.socket)) }
        if let journal, gating { items.append(.fileDescriptor(journal.wakeDescriptor)) }
        if let monitor = sockets.peerConnections { items.append(.socket(monitor.socket)) }
        let guardian = LinkGuard(curve: configuration.curve, logger: logger, metrics: configuration.metrics)
        let zapLog = ZAPLog()
        var poller = ZMQPoller(items)
        var stopDeadline: UInt64?
        let metrics = configuration.metrics
        var nextMetricsUpdate: UInt64 = 0
        while true {
            if stopDeadline == nil, thread.isStopRequested {
                let (actions, handingOver) = node.leave()
                run(actions)
                // Wait (at most 2 s) for the standby to say it is active and for held replies to go out.
                stopDeadline = MonotonicClock.milliseconds() + (handingOver ? 2_000 : 0)
            }
            if let stopDeadline,
                MonotonicClock.milliseconds() >= stopDeadline || (node.handedOver && node.heldCount == 0)
            {
                // Everything applied reaches the disk before the last replies go out.
                run(node.flushUpdates())
                journal?.close()
                if gating { perform(gate.releaseAll(), sockets) }
                break
            }
            do {
                let readable = try poller.poll(timeoutMilliseconds: 50)
                // The peer first: a broker resumed after a pause learns it was deposed before it serves.
                // Bounded per pass (frames and bytes): while snapshot parts stream, each one confirmed
                // brings the next, and an unbounded drain would starve heartbeats, ticks and commands.
                func readPeer() throws {
                    guard let peerIn = sockets.peerIn else { return }
                    if let monitor = sockets.peerConnections { guardian.peerConnections(try monitor.events()) }
                    var bytes = 0
                    for _ in 0..<Self.peerFramesPerPass where bytes < Self.peerBytesPerPass {
                        guard let message = try peerIn.receiveMessage(dontWait: true) else { break }
                        guard guardian.admitPeer(message) else { continue }
                        let frames = message.frames
                        guard frames.count == 2 else { continue }
                        bytes += frames[1].count
                        run(node.peer(frame: frames[1], now: BrokerClock.now()))
                    }
                }
                if let peerIn = sockets.peerIn, readable.isReadable(peerIn) { try readPeer() }
                if let authorizer = keyReload.take(), reload(authorizer, sockets, guardian) {
                    if let replaced = replaceBroadcasts(sockets.broadcasts, context) {
                        // A removed key's subscriptions went with the old socket; the others resubscribe.
                        sockets.broadcasts = replaced
                        items[1] = .socket(replaced)
                        poller = ZMQPoller(items)
                    } else {
                        stop()  // the standby (or the supervisor) takes over
                    }
                }
                // Handshakes wait for these answers (CURVE: the client's key against the allow-list).
                if let zap = sockets.zap, readable.isReadable(zap.socket) {
                    zapLog.record(try zap.answerPending(), logger: logger)
                }
                // Closed connections before commands: a close is then never taken for a newer connection
                // that reuses its descriptor (ZMQPeerConnections).
                if readable.isReadable(sockets.gatewayConnections.socket) {
                    for gateway in peers.apply(try sockets.gatewayConnections.events()) {
                        run(node.gatewayClosed(identity: gateway, now: BrokerClock.now()))
                    }
                }
                if readable.isReadable(sockets.commands) {
                    // Drain what is waiting, then tick: a busy broker still expires gateways and rooms.
                    for count in 1...10_000 {
                        guard let message = try sockets.commands.receiveMessage(dontWait: true) else { break }
                        guard let identity = message.frames.first, guardian.admitCommand(message) else { continue }
                        let frames = message.frames
                        peers.heard(identity, on: message.connection)
                        let frame = frames.count == 2 ? frames[1] : []
                        metrics?.command(frame)
                        run(node.command(identity: identity, frame: frame, now: BrokerClock.now()))
                        if count % Self.updatesPerMessage == 0 {
                            // A long drain: the standby gets these updates now, and the acks that came
                            // meanwhile release their replies, rather than both waiting for its end.
                            run(node.flushUpdates())
                            try readPeer()
                        }
                    }
                }
                if readable.isReadable(sockets.broadcasts) {
                    // Subscription messages: 0x01 + topic (subscribe) or 0x00 + topic (unsubscribe).
                    while let message = try sockets.broadcasts.receive(dontWait: true) {
                        guard let frame = message.first, frame.first == 1 else { continue }
                        run(node.subscribed(topic: Array(frame.dropFirst())))
                    }
                }
                guardian.countDropped([sockets.commands, sockets.broadcasts, sockets.peerIn].compactMap { $0 })
                for outcome in snapshotWorker.takeFinished() {
                    run(node.finished(outcome, now: BrokerClock.now()))
                }
                run(node.tick(now: BrokerClock.now()))
                // What this pass applied goes to the standby as one message, acknowledged with one ack.
                run(node.flushUpdates())
                if let journal {
                    let lineage = keepJournal(journal, &node)
                    if !lineage.isEmpty { run(lineage) }
                    if gating {
                        if readable.isReadable(fileDescriptor: journal.wakeDescriptor) { journal.clearWake() }
                        let durable = journal.isRefusing ? UInt64.max : journal.durablePosition
                        if gate.count > 0 { perform(gate.release(durable: durable), sockets) }
                    }
                }
                if let metrics, MonotonicClock.milliseconds() >= nextMetricsUpdate {
                    // The gauges (rooms, members, role, term, replication lag) a few times a second.
                    nextMetricsUpdate = MonotonicClock.milliseconds() + Self.metricsUpdateMilliseconds
                    metrics.update(node.statusReport(now: BrokerClock.now(), listing: 0))
                }
            } catch {
                logger.error("zmq-error", metadata: ["reason": "\(error)"])
            }
        }
    }

    private func perform(_ actions: [NodeAction], _ sockets: Sockets) {
        for action in actions {
            switch action {
            case .snapshotWork(let work):
                snapshotWorker.start(work)
            case .publish(let frames):
                do {
                    try sockets.broadcasts.send(frames)
                    configuration.metrics?.published(frames)
                } catch {
                    logger.error("publish-failed", metadata: ["reason": "\(error)"])
                }
            case .reply(let identity, let frame):
                do {
                    if try !sockets.commands.send([identity, frame], dontWait: true) {
                        logger.warning(
                            "reply-dropped",
                            metadata: ["gateway": "\(String(decoding: identity, as: UTF8.self))"]
                        )
                    } else {
                        configuration.metrics?.reply(frame)
                    }
                } catch {
                    logger.error("reply-failed", metadata: ["reason": "\(error)"])
                }
            case .toPeer(let frame):
                // Dropped when the peer is not connected or far behind: it notices the gap and reloads.
                _ = try? sockets.peerOut?.send([frame], dontWait: true)
            case .journal(let entry):
                configuration.journal?.append(entry)
            }
        }
    }
}
