import ChatWire
import Logging

/// One broker of a pair (or a broker alone), without sockets: the ``BrokerEngine`` plus who is active
/// (``BinaryStar``) and the replication to the standby (Clone pattern: a snapshot, then numbered
/// updates). The broker's socket loop feeds it commands, subscriptions, peer frames, ticks and the
/// results of snapshot work, each with the local ``BrokerClock``, and carries out the ``NodeAction``s
/// it returns, in order.
///
/// The active replicates every input it applies (commands and ticks, with the random values they drew
/// and the clock they saw) and holds the replies and broadcasts an input caused until the standby has
/// acknowledged it: whatever a gateway was told survives the active's death. Snapshots are encoded and
/// decoded off the loop (``NodeAction/snapshotWork(_:)``) and sent in parts under flow control, so the
/// active keeps serving while a standby loads. Heartbeats carry each side's replication position, so a
/// standby that missed updates reloads and an active takes back a standby that kept up.
///
/// An active whose standby falls silent goes on acknowledging alone only while it hears a quorum of the
/// gateways it knew (otherwise the standby may be taking over with them: it is fenced and answers
/// `not_active`); a standby takes over only on a quorum of gateway votes, and without the state only
/// once its peer is gone for good (docs/ARCHITECTURE.md, "Standby broker").
public struct BrokerNode {
    /// The rooms (the standby's copy while passive).
    public internal(set) var engine: BrokerEngine
    /// Who is active; nil for a broker alone.
    public internal(set) var star: BinaryStar?
    let pair: PairConfiguration?
    let configuration: RoomRegistryConfiguration
    let gatewayTimeoutMilliseconds: UInt64
    let logger: Logger
    /// The replication phase and its data.
    var replication: Replication
    /// The number of the last input applied (sent as an update when a standby listens).
    var updateSeq: UInt64 = 0
    /// A standby checks every update's digest up to this one (the first after its snapshot).
    var checkEveryDigestUntil: UInt64 = 0
    /// Updates not sent to the standby yet: ``flushUpdates()`` sends them as one message, so a pass of
    /// the loop costs the peer link one message and one ack instead of one per input.
    var unsent: [PeerMessage.Update] = []
    /// An upper bound of their encoded size (a message stays within ``PeerMessage/maxSize``).
    var unsentBytes = 0
    /// Added to the local monotonic clock to give the engine's: a standby that takes over continues
    /// the active's timeline, so gateway deadlines and session graces carry over.
    var clockOffset: Int64 = 0
    var lastEngineMonotonic: UInt64 = 0
    var nextHeartbeat: UInt64 = 0
    var nextEngineTick: UInt64 = 0
    var nextSyncTag: UInt64 = 1
    var nextWork: UInt64 = 1
    var peerTerm: UInt64 = 0
    var peerState: PairState?
    /// Stopping: answers `not_active`, waits for the standby to take over.
    public internal(set) var leaving = false
    /// The term when it started leaving.
    var leftInTerm: UInt64 = 0
    /// How often the engine ticks, ms.
    public static let engineTickMilliseconds: UInt64 = 250
    /// How long a built status reply is reused (same role and term), ms: however many gateways ask.
    public static let statusCacheMilliseconds: UInt64 = 1_000
    /// When the standby last acknowledged an update (active), and which one.
    var lastAckAt: UInt64?
    var acknowledgedUpdate: UInt64 = 0
    /// When the last update arrived from the active (standby).
    var lastUpdateAt: UInt64?
    /// The last status report's JSON, when it was built, and the role, term and fencing it was built in.
    var statusCache: (builtAt: UInt64, role: BrokerRole, term: UInt64, fenced: Bool, json: [UInt8])?
    /// The gateways that voted (said hello while this broker was not active), by routing id, and when.
    var votes: [String: UInt64] = [:]
    /// When each gateway was last heard (hello or heartbeat), this broker's monotonic ms: an active's
    /// quorum counts these, whatever it answered them.
    var heard: [String: UInt64] = [:]
    var lastHeardPrune: UInt64 = 0
    /// The gateways that were live when the peer fell silent (an active's quorum counts among them).
    var quorumBase: Set<String>?
    /// Whether the active is fenced: its standby is silent and it does not hear a quorum of gateways.
    public internal(set) var fenced = false
    /// Why this node last became active (for the status).
    public internal(set) var lastTakeover: BinaryStar.Takeover?
    /// Whether every input applied goes to the journal on disk (``NodeAction/journal(_:)``).
    public let journaling: Bool
    /// Whether the engine holds a state read back from the journal that no peer has replaced yet.
    public internal(set) var recovered = false
    /// Set by the loop while the journal cannot be written (the disk is full): new rooms and messages
    /// are refused with `storage_full`, unapplied; joins, leaves, history and presence go on.
    public var storageRefusing = false
    /// Journal bytes since the last snapshot on disk (the loop asks for one past ``snapshotDue``).
    var journalBytesSinceSnapshot = 0

    /// A node at `now`: active at once when alone, else in the pair's starting state.
    public init(
        configuration: RoomRegistryConfiguration,
        gatewayTimeoutMilliseconds: UInt64,
        pair: PairConfiguration?,
        journaling: Bool = false,
        logger: Logger,
        now: BrokerClock
    ) {
        self.configuration = configuration
        self.gatewayTimeoutMilliseconds = gatewayTimeoutMilliseconds
        self.pair = pair
        self.journaling = journaling
        self.logger = logger
        self.engine = BrokerEngine(
            configuration: configuration,
            gatewayTimeoutMilliseconds: gatewayTimeoutMilliseconds,
            logger: logger
        )
        if let pair {
            star = BinaryStar(
                role: pair.role,
                peerTimeoutMilliseconds: pair.peerTimeoutMilliseconds,
                statelessTakeoverMilliseconds: pair.statelessTakeoverMilliseconds,
                now: now.monotonic
            )
            engine.logger = Self.quiet(logger)
            replication = .waiting(.init())
        } else {
            replication = .standbyAbsent
        }
    }

    /// Whether this node serves the gateways.
    public var isActive: Bool { (star?.state ?? .active) == .active && !leaving }

    /// The fencing term (1 for a broker alone).
    public var term: UInt64 { star?.term ?? 1 }

    /// Whether this node holds the pair's state.
    public var hasState: Bool {
        if star == nil || star?.state == .active || recovered { return true }
        if case .following = replication { return true }
        return false
    }

    /// The active's view of its standby.
    public var standby: StandbyState {
        switch replication {
        case .standbySyncing(let sending): return .syncing(base: sending.base)
        case .standbyInSync: return .inSync
        case .standbyAbsent, .waiting, .loading, .following: return .absent
        }
    }

    /// The number of the last update applied or sent.
    public var lastUpdate: UInt64 { updateSeq }

    /// The updates applied since the last call, as one message to the standby. The loop calls it after
    /// each batch of inputs (a drain of commands, subscriptions, a tick); what those inputs produced is
    /// held until the standby acknowledges them.
    public mutating func flushUpdates() -> [NodeAction] {
        var actions: [NodeAction] = []
        flushUpdates(into: &actions)
        return actions
    }

    /// Outputs waiting for the standby's ack.
    public var heldCount: Int {
        if case .standbyInSync(let inSync) = replication { return inSync.held.count }
        return 0
    }

    // MARK: Inputs

    /// A command frame from the gateway with routing id `identity`.
    public mutating func command(identity: [UInt8], frame: [UInt8], now: BrokerClock) -> [NodeAction] {
        // One byte compared per command: status is answered here, by either broker, and not replicated.
        if frame.count > 1, frame[1] == CommandKind.status.rawValue, let reply = statusReply(frame: frame, now: now) {
            return [.reply(identity: identity, frame: reply)]
        }
        var actions: [NodeAction] = []
        let gateway = String(decoding: identity, as: UTF8.self)
        let kind = frame.count > 1 ? CommandKind(rawValue: frame[1]) : nil
        if pair != nil, kind == .heartbeat || kind == .hello { hear(gateway, now: now.monotonic) }
        if !isActive {
            guard !leaving, var star, Self.isHello(frame) else { return [notActive(identity: identity, frame: frame)] }
            votes[gateway] = now.monotonic
            let vote = star.vote(now: now.monotonic, quorum: hasVoteQuorum(now: now), hasState: hasState)
            self.star = star
            guard vote.serves else { return [notActive(identity: identity, frame: frame)] }
            apply(vote.change, now: now, into: &actions)
        }
        if fenced { return [notActive(identity: identity, frame: frame)] }
        if storageRefusing, kind == .create || kind == .message || kind == .post {
            return [refusal(Self.storageFullError, identity, frame)]
        }
        let engineNow = engineClock(now)
        let output = engine.handle(frame: frame, from: gateway, now: engineNow)
        let input = BrokerInput.command(gateway: gateway, frame: frame, now: engineNow, entropy: engine.takeEntropy())
        emit(input, output: output, identity: identity, immediate: kind == .heartbeat, into: &actions)
        return actions
    }

    /// The connection of the gateway with routing id `identity` closed. The active applies it (and
    /// replicates it); a standby learns it from the active.
    public mutating func gatewayClosed(identity: [UInt8], now: BrokerClock) -> [NodeAction] {
        guard isActive, !fenced else { return [] }
        var actions: [NodeAction] = []
        let gateway = String(decoding: identity, as: UTF8.self)
        let engineNow = engineClock(now)
        let output = engine.gatewayClosed(gateway, now: engineNow)
        emit(.gatewayClosed(gateway: gateway, now: engineNow), output: output, identity: nil, into: &actions)
        return actions
    }

    /// A gateway subscribed to `topic` on the XPUB socket: the active answers with the room's head
    /// (after what is held, so a head never runs ahead of an unacknowledged event).
    public mutating func subscribed(topic: [UInt8]) -> [NodeAction] {
        guard isActive else { return [] }
        let encoded = encode(engine.subscribed(topic: topic), identity: nil)
        guard var inSync = replication.takeInSync(if: { $0.held.count > 0 }) else { return encoded }
        inSync.held.append(Replication.HeldOutput(seq: updateSeq, actions: encoded))
        replication = .standbyInSync(inSync)
        return []
    }

    /// Periodic work; call at least every 100 ms.
    public mutating func tick(now: BrokerClock) -> [NodeAction] {
        var actions: [NodeAction] = []
        if let pair, let star {
            if now.monotonic >= nextHeartbeat {
                // The position in the status covers only updates already sent.
                flushUpdates(into: &actions)
                nextHeartbeat = now.monotonic + pair.heartbeatMilliseconds
                actions.append(.toPeer(PeerMessage.status(status).encoded()))
            }
            if star.state == .active {
                activeTick(now: now, into: &actions)
            } else {
                standbyTick(now: now, into: &actions)
            }
        }
        if isActive, !fenced, now.monotonic >= nextEngineTick {
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
            let change = star.peer(status, now: now.monotonic, hasState: hasState, rank: (rankTerm, updateSeq))
            self.star = star
            apply(change, now: now, into: &actions)
            peerPosition(status, now: now, into: &actions)
        case .syncRequest(let sync):
            startSnapshot(sync: sync, into: &actions)
        case .snapshotReceived(let sync, let index):
            snapshotReceived(sync: sync, index: index, into: &actions)
        case .snapshot(let sync, let base, let index, let last, let bytes):
            receiveSnapshot(sync: sync, base: base, index: index, last: last, bytes: bytes, now: now, into: &actions)
        case .update(let seq, let input, let digest):
            lastUpdateAt = now.monotonic
            receiveUpdate(seq: seq, input: input, digest: digest, into: &actions)
        case .updates(let updates):
            lastUpdateAt = now.monotonic
            let wasFollowing = replication.isFollowing
            for update in updates {
                receiveUpdate(
                    seq: update.seq,
                    input: update.input,
                    digest: update.digest,
                    acknowledge: false,
                    journal: !wasFollowing,
                    into: &actions
                )
            }
            // One ack for the whole message.
            if case .following(let applied) = replication {
                actions.append(.toPeer(PeerMessage.ack(seq: applied).encoded()))
                // A following standby applied the whole message: the journal keeps its bytes as they came.
                if journaling, wasFollowing, let last = updates.last?.seq, last <= applied {
                    actions.append(.journal(.updates(last: last, frame: frame)))
                    journalBytesSinceSnapshot += frame.count
                }
            }
        case .ack(let seq):
            guard isActive || leaving else { return [] }
            receiveAck(seq: seq, now: now, into: &actions)
        case .handover(let peerTerm):
            guard var star else { return [] }
            let change = star.handover(peerTerm: peerTerm, hasState: hasState)
            self.star = star
            apply(change, now: now, into: &actions)
        }
        return actions
    }

    /// The result of a ``SnapshotWork`` the loop ran off its thread.
    public mutating func finished(_ outcome: SnapshotWork.Outcome, now: BrokerClock) -> [NodeAction] {
        var actions: [NodeAction] = []
        switch outcome {
        case .encoded(let id, let result, let milliseconds):
            snapshotEncoded(id: id, result: result, milliseconds: milliseconds, into: &actions)
        case .decoded(let id, let result, let milliseconds):
            snapshotDecoded(id: id, result: result, milliseconds: milliseconds, now: now, into: &actions)
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
        var actions: [NodeAction] = []
        flushUpdates(into: &actions)
        actions.append(.toPeer(PeerMessage.handover(term: term).encoded()))
        return (actions, true)
    }

    /// Whether the peer is active with a term above this node's (after ``leave()``).
    public var handedOver: Bool { leaving && peerState == .active && peerTerm > leftInTerm }

    // MARK: State changes

    mutating func apply(_ change: BinaryStar.Change, now: BrokerClock, into actions: inout [NodeAction]) {
        switch change {
        case .none:
            break
        case .becameActive(let reason):
            let synced: Bool
            if case .following = replication { synced = true } else { synced = false }
            let freshState = !synced && (reason != .started || !recovered)
            if !synced, reason != .started {
                // No copy of the state arrived, and the peer is gone for good (or neither broker has
                // it): serve with a fresh one (gateways see a new instance and tell their members).
                engine = BrokerEngine(
                    configuration: configuration,
                    gatewayTimeoutMilliseconds: gatewayTimeoutMilliseconds,
                    logger: logger
                )
                logger.warning(
                    "takeover-without-state",
                    metadata: ["reason": "\(reason.rawValue): the rooms start empty"]
                )
            }
            engine.logger = logger
            engine.term = term
            recovered = false
            if journaling {
                // The journal learns the state's new rank; a new state starts a lineage of its own.
                actions.append(
                    .journal(freshState ? .lineage(base: updateSeq, snapshot: engine.snapshot()) : .term(term))
                )
                if freshState { journalBytesSinceSnapshot = 0 }
            }
            // Continue the engine's clock from the last update applied.
            if lastEngineMonotonic > 0 {
                clockOffset = Int64(bitPattern: lastEngineMonotonic) - Int64(bitPattern: now.monotonic)
            }
            replication = .standbyAbsent
            unsent = []
            unsentBytes = 0
            lastTakeover = reason
            votes = [:]
            quorumBase = nil  // from the gateways heard since: the voters at first
            fenced = false
            nextEngineTick = 0
            logger.notice(
                "active",
                metadata: [
                    "reason": "\(reason.rawValue)", "term": "\(term)", "rooms": "\(engine.registry.rooms.count)",
                    "seq": "\(updateSeq)",
                ]
            )
            // The peer learns the new term at once (a deposed active steps down before serving more).
            actions.append(.toPeer(PeerMessage.status(status).encoded()))
            // Every gateway checks it has each room's last event.
            for head in engine.heads() { actions.append(.publish(head.encoded())) }
        case .becamePassive(let reason):
            engine = BrokerEngine(
                configuration: configuration,
                gatewayTimeoutMilliseconds: gatewayTimeoutMilliseconds,
                logger: Self.quiet(logger)
            )
            // What was held for a standby was never acknowledged: the clients retry with the new active.
            replication = .waiting(.init())
            recovered = false
            unsent = []
            unsentBytes = 0
            clockOffset = 0
            lastEngineMonotonic = 0
            votes = [:]
            quorumBase = nil
            fenced = false
            logger.notice(
                "standby",
                metadata: ["reason": "\(reason?.rawValue ?? "peer is active")", "term": "\(term)"]
            )
        }
    }

    // MARK: Helpers

    var status: PeerStatus {
        PeerStatus(
            state: star?.state ?? .active,
            term: rankTerm,
            isPrimary: pair?.role == .primary,
            hasState: hasState,
            position: updateSeq
        )
    }

    mutating func engineClock(_ now: BrokerClock) -> BrokerClock {
        let shifted = Int64(bitPattern: now.monotonic) + clockOffset
        let monotonic = max(lastEngineMonotonic, UInt64(bitPattern: max(shifted, 0)))
        lastEngineMonotonic = monotonic
        return BrokerClock(monotonic: monotonic, wall: now.wall)
    }
}
