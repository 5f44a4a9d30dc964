import ChatWire
import Logging

/// One broker of a pair (or a broker alone), without sockets: the ``BrokerEngine`` plus who is active
/// (``BinaryStar``) and the replication to the standby (Clone pattern: a snapshot, then numbered
/// updates). The broker's socket loop feeds it commands, subscriptions, peer frames and ticks, each with
/// the local ``BrokerClock``, and carries out the ``NodeAction``s it returns, in order.
///
/// The active replicates every input it applies (commands and ticks, with the random values they drew
/// and the clock they saw) and holds the replies and broadcasts an input caused until the standby has
/// acknowledged it: whatever a gateway was told survives the active's death. A standby that stops
/// answering for the peer timeout is dropped and the active acknowledges alone until it is back in sync.
public struct BrokerNode {
    /// The rooms (the standby's copy while passive).
    public private(set) var engine: BrokerEngine
    /// Who is active; nil for a broker alone.
    public private(set) var star: BinaryStar?
    /// The active's view of its standby.
    public private(set) var standby: StandbyState = .absent
    private let pair: PairConfiguration?
    private let configuration: RoomRegistryConfiguration
    private let gatewayTimeoutMilliseconds: UInt64
    private let logger: Logger
    private var replica = ReplicaState.waiting(sync: nil, askedAt: nil)
    /// The number of the last input applied (sent as an update when a standby listens).
    private var updateSeq: UInt64 = 0
    /// Outputs waiting for the standby's ack of their update, oldest first.
    private var held = FIFOQueue<HeldOutput>()
    /// Added to the local monotonic clock to give the engine's: a standby that takes over continues
    /// the active's timeline, so gateway deadlines and session graces carry over.
    private var clockOffset: Int64 = 0
    private var lastEngineMonotonic: UInt64 = 0
    private var nextHeartbeat: UInt64 = 0
    private var nextEngineTick: UInt64 = 0
    private var nextSyncTag: UInt64 = 1
    private var peerTerm: UInt64 = 0
    private var peerState: PairState?
    /// Stopping: answers `not_active`, waits for the standby to take over.
    public private(set) var leaving = false
    /// The term when it started leaving.
    private var leftInTerm: UInt64 = 0
    /// How often the engine ticks, ms.
    public static let engineTickMilliseconds: UInt64 = 250
    /// How long a built status reply is reused (same role and term), ms: however many gateways ask.
    public static let statusCacheMilliseconds: UInt64 = 1_000
    /// When the standby last acknowledged an update (active), and which one.
    private var lastAckAt: UInt64?
    private var acknowledgedUpdate: UInt64 = 0
    /// When the last update arrived from the active (standby).
    private var lastUpdateAt: UInt64?
    /// The last status report's JSON, when it was built, and the role and term it was built in.
    private var statusCache: (builtAt: UInt64, role: BrokerRole, term: UInt64, json: [UInt8])?

    private struct HeldOutput: Sendable, Codable {
        var seq: UInt64
        var actions: [NodeAction]
    }

    /// A node at `now`: active at once when alone, else in the pair's starting state.
    public init(
        configuration: RoomRegistryConfiguration, gatewayTimeoutMilliseconds: UInt64, pair: PairConfiguration?,
        logger: Logger, now: BrokerClock
    ) {
        self.configuration = configuration
        self.gatewayTimeoutMilliseconds = gatewayTimeoutMilliseconds
        self.pair = pair
        self.logger = logger
        self.engine = BrokerEngine(configuration: configuration, gatewayTimeoutMilliseconds: gatewayTimeoutMilliseconds, logger: logger)
        if let pair {
            star = BinaryStar(role: pair.role, peerTimeoutMilliseconds: pair.peerTimeoutMilliseconds, now: now.monotonic)
            engine.logger = Self.quiet(logger)
        }
    }

    /// Whether this node serves the gateways.
    public var isActive: Bool { (star?.state ?? .active) == .active && !leaving }

    /// The fencing term (1 for a broker alone).
    public var term: UInt64 { star?.term ?? 1 }

    /// Whether this node holds the pair's state.
    public var hasState: Bool {
        if star == nil || star?.state == .active { return true }
        if case .following = replica { return true }
        return false
    }

    /// The number of the last update applied or sent.
    public var lastUpdate: UInt64 { updateSeq }

    /// Outputs waiting for the standby's ack.
    public var heldCount: Int { held.count }

    // MARK: Inputs

    /// A command frame from the gateway with routing id `identity`.
    public mutating func command(identity: [UInt8], frame: [UInt8], now: BrokerClock) -> [NodeAction] {
        // One byte compared per command: status is answered here, by either broker, and not replicated.
        if frame.count > 1, frame[1] == CommandKind.status.rawValue, let reply = statusReply(frame: frame, now: now) {
            return [.reply(identity: identity, frame: reply)]
        }
        var actions: [NodeAction] = []
        if !isActive {
            guard !leaving, var star, Self.isHello(frame) else { return [notActive(identity: identity, frame: frame)] }
            let vote = star.vote(now: now.monotonic)
            self.star = star
            guard vote.serves else { return [notActive(identity: identity, frame: frame)] }
            apply(vote.change, now: now, into: &actions)
        }
        let engineNow = engineClock(now)
        let gateway = String(decoding: identity, as: UTF8.self)
        let output = engine.handle(frame: frame, from: gateway, now: engineNow)
        let input = BrokerInput.command(gateway: gateway, frame: frame, now: engineNow, entropy: engine.takeEntropy())
        emit(input, output: output, identity: identity, into: &actions)
        return actions
    }

    /// A gateway subscribed to `topic` on the XPUB socket: the active answers with the room's head
    /// (after what is held, so a head never runs ahead of an unacknowledged event).
    public mutating func subscribed(topic: [UInt8]) -> [NodeAction] {
        guard isActive else { return [] }
        let encoded = encode(engine.subscribed(topic: topic), identity: nil)
        guard held.count > 0 else { return encoded }
        held.append(HeldOutput(seq: updateSeq, actions: encoded))
        return []
    }

    /// Periodic work; call at least every 100 ms.
    public mutating func tick(now: BrokerClock) -> [NodeAction] {
        var actions: [NodeAction] = []
        if let pair, let star {
            if now.monotonic >= nextHeartbeat {
                nextHeartbeat = now.monotonic + pair.heartbeatMilliseconds
                actions.append(.toPeer(PeerMessage.status(status).encoded()))
            }
            if star.state == .active, standby != .absent, !star.peerAlive(now: now.monotonic) {
                logger.warning("standby-lost", metadata: [
                    "reason": "no heartbeat for \(pair.peerTimeoutMilliseconds) ms: acknowledging alone", "term": "\(term)",
                ])
                standby = .absent
                release(upTo: .max, into: &actions)
            }
            if star.state == .passive, peerState == .active, star.peerAlive(now: now.monotonic),
               case .waiting(_, let askedAt) = replica,
               askedAt.map({ now.monotonic >= $0 + pair.syncRetryMilliseconds }) ?? true
            {
                let tag = nextSyncTag
                nextSyncTag += 1
                replica = .waiting(sync: tag, askedAt: now.monotonic)
                actions.append(.toPeer(PeerMessage.syncRequest(sync: tag).encoded()))
            }
        }
        if isActive, now.monotonic >= nextEngineTick {
            nextEngineTick = now.monotonic + Self.engineTickMilliseconds
            let engineNow = engineClock(now)
            emit(.tick(now: engineNow), output: engine.tick(now: engineNow), identity: nil, into: &actions)
        }
        return actions
    }

    /// A frame from the peer broker.
    public mutating func peer(frame: [UInt8], now: BrokerClock) -> [NodeAction] {
        guard pair != nil else { return [] }
        let message: PeerMessage
        do {
            message = try PeerMessage.decode(frame)
        } catch {
            logger.error("peer-bad-frame", metadata: ["reason": "\(error)"])
            return []
        }
        var actions: [NodeAction] = []
        switch message {
        case .status(let status):
            peerTerm = status.term
            peerState = status.state
            guard var star else { return [] }
            let change = star.peer(status, now: now.monotonic, hasState: hasState)
            self.star = star
            apply(change, now: now, into: &actions)
        case .syncRequest(let sync):
            sendSnapshot(sync: sync, into: &actions)
        case .snapshot(let sync, let base, let index, let last, let bytes):
            receiveSnapshot(sync: sync, base: base, index: index, last: last, bytes: bytes, into: &actions)
        case .update(let seq, let input, let digest):
            lastUpdateAt = now.monotonic
            receiveUpdate(seq: seq, input: input, digest: digest, into: &actions)
        case .ack(let seq):
            guard isActive || leaving else { return [] }
            lastAckAt = now.monotonic
            acknowledgedUpdate = seq
            if case .syncing(let base) = standby, seq >= base {
                standby = .inSync
                logger.info("standby-in-sync", metadata: ["seq": "\(seq)", "term": "\(term)"])
            }
            if standby == .inSync { release(upTo: seq, into: &actions) }
        case .handover(let peerTerm):
            guard var star else { return [] }
            let change = star.handover(peerTerm: peerTerm, hasState: hasState)
            self.star = star
            apply(change, now: now, into: &actions)
        }
        return actions
    }

    /// The broker is stopping: an active with a standby in sync tells it to take over at once, and from
    /// now on answers `not_active`. Returns true when a handover was asked (wait for ``handedOver``).
    public mutating func leave() -> (actions: [NodeAction], handingOver: Bool) {
        guard !leaving else { return ([], false) }
        let handingOver = isActive && standby == .inSync
        leaving = true
        leftInTerm = term
        guard handingOver else { return ([], false) }
        logger.info("handing-over", metadata: ["term": "\(term)"])
        return ([.toPeer(PeerMessage.handover(term: term).encoded())], true)
    }

    /// Whether the peer is active with a term above this node's (after ``leave()``).
    public var handedOver: Bool { leaving && peerState == .active && peerTerm > leftInTerm }

    // MARK: Active

    private mutating func emit(_ input: BrokerInput, output: BrokerOutput, identity: [UInt8]?, into actions: inout [NodeAction]) {
        let encoded = encode(output, identity: identity)
        guard pair != nil else {
            actions += encoded
            return
        }
        // Numbered even when no standby listens: one that comes back sees the gap and reloads.
        updateSeq += 1
        guard standby != .absent else {
            actions += encoded
            return
        }
        actions.append(.toPeer(PeerMessage.update(seq: updateSeq, input: input, digest: Self.digest(of: encoded)).encoded()))
        if standby == .inSync {
            if !encoded.isEmpty { held.append(HeldOutput(seq: updateSeq, actions: encoded)) }
            if held.count > pair?.maxHeldOutputs ?? .max {
                logger.warning("standby-lost", metadata: [
                    "reason": "\(held.count) replies wait for its acks: too slow; acknowledging alone until it reloads",
                    "term": "\(term)",
                ])
                standby = .absent
                release(upTo: .max, into: &actions)
            }
        } else {
            actions += encoded
        }
    }

    private mutating func release(upTo seq: UInt64, into actions: inout [NodeAction]) {
        while let first = held.first, first.seq <= seq {
            _ = held.popFirst()
            actions += first.actions
        }
    }

    /// Broadcasts first, then the reply: a gateway that subscribed before forwarding a join then sees
    /// the joined event no later than the reply that tells it the join's sequence number.
    private func encode(_ output: BrokerOutput, identity: [UInt8]?) -> [NodeAction] {
        var actions = output.broadcasts.map { NodeAction.publish($0.encoded()) }
        if let reply = output.reply, let identity {
            let frame = reply.encoded()
            // The engine trims replies to fit; a larger one would be refused by the gateway's
            // ZMQ_MAXMSGSIZE and disconnect it, so it is never sent.
            if frame.count <= WireFormat.maxFrameSize {
                actions.append(.reply(identity: identity, frame: frame))
            } else {
                logger.error("reply-too-large", metadata: [
                    "gateway": "\(String(decoding: identity, as: UTF8.self))", "reason": "\(reply.kind): \(frame.count) bytes",
                ])
            }
        }
        return actions
    }

    private mutating func sendSnapshot(sync: UInt64, into actions: inout [NodeAction]) {
        guard isActive || leaving else { return }
        let bytes: [UInt8]
        do {
            bytes = try engine.snapshot().encoded()
        } catch {
            logger.error("snapshot-failed", metadata: ["reason": "\(error)"])
            return
        }
        // What was held for the old standby is released: the new one starts from this snapshot.
        release(upTo: .max, into: &actions)
        standby = .syncing(base: updateSeq)
        var index: UInt32 = 0
        var start = 0
        repeat {
            let end = min(bytes.count, start + PeerMessage.chunkSize)
            actions.append(.toPeer(PeerMessage.snapshot(
                sync: sync, base: updateSeq, index: index, last: end == bytes.count, bytes: Array(bytes[start..<end])).encoded()))
            index += 1
            start = end
        } while start < bytes.count
        logger.info("snapshot-sent", metadata: [
            "rooms": "\(engine.registry.rooms.count)", "reason": "\(bytes.count) bytes in \(index) parts", "seq": "\(updateSeq)",
        ])
    }

    // MARK: Standby

    private mutating func receiveSnapshot(
        sync: UInt64, base: UInt64, index: UInt32, last: Bool, bytes: [UInt8], into actions: inout [NodeAction]
    ) {
        guard star?.state == .passive || star?.state == .primary || star?.state == .backup else { return }
        switch replica {
        case .waiting(let asked, _) where asked == sync && index == 0:
            replica = .loading(sync: sync, base: base, chunks: bytes, nextIndex: 1, updates: [], bytes: 0)
        case .loading(let current, let currentBase, var chunks, let nextIndex, let updates, let size)
            where current == sync && index == nextIndex:
            replica = .waiting(sync: nil, askedAt: nil)  // no copy of `chunks` while appending
            chunks += bytes
            replica = .loading(sync: sync, base: currentBase, chunks: chunks, nextIndex: index + 1, updates: updates, bytes: size)
        default:
            return
        }
        guard last, case .loading(_, let base, let chunks, _, let updates, _) = replica else { return }
        do {
            engine = BrokerEngine(snapshot: try BrokerSnapshot.decode(chunks), logger: Self.quiet(logger))
        } catch {
            logger.error("snapshot-unreadable", metadata: ["reason": "\(error)"])
            replica = .waiting(sync: nil, askedAt: nil)
            return
        }
        replica = .following(applied: base)
        updateSeq = base
        logger.info("standby-loaded", metadata: [
            "rooms": "\(engine.registry.rooms.count)", "reason": "\(chunks.count) bytes", "seq": "\(base)",
        ])
        if engine.registry.configuration.shard != configuration.shard {
            logger.warning("shard-mismatch", metadata: [
                "reason": "the active serves shard \(engine.registry.configuration.shard), this broker was started with --shard \(configuration.shard): give both brokers of a pair the same; following the active's",
            ])
        }
        for (seq, input, digest) in updates {
            receiveUpdate(seq: seq, input: input, digest: digest, into: &actions)
        }
        if case .following(let applied) = replica {
            actions.append(.toPeer(PeerMessage.ack(seq: applied).encoded()))
        }
    }

    private mutating func receiveUpdate(seq: UInt64, input: BrokerInput, digest: UInt64, into actions: inout [NodeAction]) {
        switch replica {
        case .waiting:
            return
        case .loading(let sync, let base, let chunks, let nextIndex, var updates, let bytes):
            let size = bytes + Self.size(of: input)
            guard size <= pair?.maxBufferedBytes ?? 0 else {
                logger.warning("standby-reloading", metadata: ["reason": "updates buffered while loading exceed the limit"])
                replica = .waiting(sync: nil, askedAt: nil)
                return
            }
            replica = .waiting(sync: nil, askedAt: nil)
            updates.append((seq, input, digest))
            replica = .loading(sync: sync, base: base, chunks: chunks, nextIndex: nextIndex, updates: updates, bytes: size)
        case .following(let applied):
            guard seq > applied else { return }
            guard seq == applied + 1 else {
                logger.warning("standby-reloading", metadata: ["reason": "updates \(applied + 1)...\(seq - 1) missed"])
                replica = .waiting(sync: nil, askedAt: nil)
                return
            }
            let (output, overdrawn) = engine.apply(input)
            lastEngineMonotonic = max(lastEngineMonotonic, input.now.monotonic)
            guard Self.digest(of: encode(output, identity: [])) == digest, !overdrawn else {
                logger.error("standby-diverged", metadata: [
                    "seq": "\(seq)", "reason": "update gave other output than on the active; reloading the state",
                ])
                replica = .waiting(sync: nil, askedAt: nil)
                return
            }
            replica = .following(applied: seq)
            updateSeq = seq
            actions.append(.toPeer(PeerMessage.ack(seq: seq).encoded()))
        }
    }

    // MARK: State changes

    private mutating func apply(_ change: BinaryStar.Change, now: BrokerClock, into actions: inout [NodeAction]) {
        switch change {
        case .none:
            break
        case .becameActive(let reason):
            let synced: Bool
            if case .following = replica { synced = true } else { synced = false }
            if !synced, reason != .started {
                // No copy of the state arrived: serve with a fresh one (gateways see a new instance and
                // tell their members), rather than not at all.
                engine = BrokerEngine(configuration: configuration, gatewayTimeoutMilliseconds: gatewayTimeoutMilliseconds, logger: logger)
                logger.warning("takeover-without-state", metadata: ["reason": "this broker had not caught up with its peer"])
            }
            engine.logger = logger
            engine.term = term
            // Continue the engine's clock from the last update applied.
            if lastEngineMonotonic > 0 {
                clockOffset = Int64(bitPattern: lastEngineMonotonic) - Int64(bitPattern: now.monotonic)
            }
            standby = .absent
            held = FIFOQueue()
            replica = .waiting(sync: nil, askedAt: nil)
            nextEngineTick = 0
            logger.notice("active", metadata: [
                "reason": "\(reason.rawValue)", "term": "\(term)", "rooms": "\(engine.registry.rooms.count)", "seq": "\(updateSeq)",
            ])
            // The peer learns the new term at once (a deposed active steps down before serving more).
            actions.append(.toPeer(PeerMessage.status(status).encoded()))
            // Every gateway checks it has each room's last event.
            for head in engine.heads() { actions.append(.publish(head.encoded())) }
        case .becamePassive(let reason):
            let wasActive = reason != nil
            engine = BrokerEngine(configuration: configuration, gatewayTimeoutMilliseconds: gatewayTimeoutMilliseconds, logger: Self.quiet(logger))
            replica = .waiting(sync: nil, askedAt: nil)
            standby = .absent
            if wasActive { held = FIFOQueue() }
            clockOffset = 0
            lastEngineMonotonic = 0
            logger.notice("standby", metadata: ["reason": "\(reason?.rawValue ?? "peer is active")", "term": "\(term)"])
        }
    }

    // MARK: Status

    /// How this node serves now.
    public var role: BrokerRole {
        guard let star else { return .alone }
        if leaving { return .standby }
        switch star.state {
        case .active: return .active
        case .passive: return .standby
        case .primary, .backup: return .starting
        }
    }

    /// What this node says of itself at `now`: the engine's rooms, members and first `limit` gateways
    /// (a standby's are its copy of the active's), its role, term and replication lag.
    public func statusReport(now: BrokerClock, listing limit: Int = BrokerStatusReport.maxGateways) -> BrokerStatusReport {
        var report = engine.statusReport(role: role, now: now.monotonic, listing: limit)
        report.term = term
        report.updates = updateSeq
        guard pair != nil else { return report }
        func since(_ time: UInt64?) -> UInt64? { time.map { now.monotonic >= $0 ? now.monotonic - $0 : 0 } }
        if isActive || leaving {
            switch standby {
            case .absent:
                report.replication = .init(state: .standbyAbsent)
            case .syncing:
                report.replication = .init(state: .standbySyncing, sinceLastMs: since(lastAckAt))
            case .inSync:
                report.replication = .init(
                    state: .standbyInSync, heldOutputs: held.count,
                    unacknowledged: updateSeq >= acknowledgedUpdate ? updateSeq - acknowledgedUpdate : 0, sinceLastMs: since(lastAckAt))
            }
        } else {
            let state: ReplicationState
            switch replica {
            case .waiting: state = .waitingForSnapshot
            case .loading: state = .loadingSnapshot
            case .following: state = .following
            }
            report.replication = .init(state: state, sinceLastMs: since(lastUpdateAt))
        }
        return report
    }

    /// The reply to a status command frame, built at most once per ``statusCacheMilliseconds`` while
    /// the role and term stay the same; nil when the frame does not decode (the engine refuses it).
    private mutating func statusReply(frame: [UInt8], now: BrokerClock) -> [UInt8]? {
        guard let command = try? WireCommand.decode(frame) else { return nil }
        let role = role
        if statusCache.map({ $0.role != role || $0.term != term || now.monotonic >= $0.builtAt + Self.statusCacheMilliseconds }) ?? true {
            do throws(ChatError) {
                statusCache = (now.monotonic, role, term, try BrokerEngine.json(of: statusReport(now: now)))
            } catch {
                return WireReply(to: command, result: .failure(error)).encoded()
            }
        }
        return WireReply(to: command, result: .success(.init(json: statusCache?.json ?? []))).encoded()
    }

    // MARK: Helpers

    private var status: PeerStatus {
        PeerStatus(state: star?.state ?? .active, term: term, isPrimary: pair?.role == .primary, hasState: hasState)
    }

    private mutating func engineClock(_ now: BrokerClock) -> BrokerClock {
        let shifted = Int64(bitPattern: now.monotonic) + clockOffset
        let monotonic = max(lastEngineMonotonic, UInt64(bitPattern: max(shifted, 0)))
        lastEngineMonotonic = monotonic
        return BrokerClock(monotonic: monotonic, wall: now.wall)
    }

    /// The digest of the frames an input produced (replies and broadcasts; routing ids left out).
    private static func digest(of actions: [NodeAction]) -> UInt64 {
        var digest = OutputDigest()
        for action in actions {
            switch action {
            case .reply(_, let frame), .toPeer(let frame): digest.add(frame)
            case .publish(let frames): frames.forEach { digest.add($0) }
            }
        }
        return digest.value
    }

    private func notActive(identity: [UInt8], frame: [UInt8]) -> NodeAction {
        let error = ChatError(.notActive, "this broker is the standby; send commands to the active one")
        let reply: WireReply
        if let command = try? WireCommand.decode(frame) {
            reply = WireReply(to: command, result: .failure(error))
        } else {
            let ids = WireCommand.ids(ofUndecodable: frame)
            reply = WireReply(kind: .invalid, requestID: ids.requestID, connectionID: ids.connectionID, result: .failure(error))
        }
        return .reply(identity: identity, frame: reply.encoded())
    }

    private static func isHello(_ frame: [UInt8]) -> Bool {
        guard let command = try? WireCommand.decode(frame), case .hello = command.body else { return false }
        return true
    }

    private static func size(of input: BrokerInput) -> Int {
        switch input {
        case .command(let gateway, let frame, _, let entropy): return 64 + gateway.utf8.count + frame.count + entropy.count * 8
        case .tick: return 32
        }
    }

    /// The standby's engine logs only warnings and worse: its events are the active's, logged there.
    private static func quiet(_ logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        return quiet
    }
}
