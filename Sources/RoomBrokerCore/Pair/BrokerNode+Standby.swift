import ChatWire

/// The standby's side of the replication: asking for the state, loading it, applying updates.
extension BrokerNode {
    /// The standby's periodic pair work: ask for a snapshot while without state, give up a transfer
    /// that stalled.
    mutating func standbyTick(now: BrokerClock, into actions: inout [NodeAction]) {
        guard let pair, let star, star.state == .passive, peerState == .active, star.peerAlive(now: now.monotonic)
        else { return }
        switch replication {
        case .waiting(let waiting):
            if waiting.askedAt.map({ now.monotonic >= $0 + pair.syncRetryMilliseconds }) ?? true {
                askForSnapshot(now: now, into: &actions)
            }
        case .loading(let loading) where loading.loaded:
            applyKept(into: &actions)
        case .loading(let loading)
        where loading.decoding == nil && now.monotonic >= loading.lastProgress + 3 * pair.syncRetryMilliseconds:
            logger.warning(
                "standby-reloading",
                metadata: ["reason": "no snapshot part for \(3 * pair.syncRetryMilliseconds) ms"]
            )
            replication = .waiting(.init())
            askForSnapshot(now: now, into: &actions)
        default:
            break
        }
    }

    /// Sends a (new) snapshot request, keeping the updates already buffered.
    mutating func askForSnapshot(now: BrokerClock, into actions: inout [NodeAction]) {
        guard case .waiting(var waiting) = replication else { return }
        let tag = nextSyncTag
        nextSyncTag += 1
        waiting.sync = tag
        waiting.askedAt = now.monotonic
        replication = .waiting(waiting)
        actions.append(.toPeer(PeerMessage.syncRequest(sync: tag).encoded()))
    }

    mutating func receiveSnapshot(
        sync: UInt64,
        base: UInt64,
        index: UInt32,
        last: Bool,
        bytes: [UInt8],
        now: BrokerClock,
        into actions: inout [NodeAction]
    ) {
        guard let state = star?.state, state != .active else { return }
        var loading: Replication.Loading
        if var waiting = replication.takeWaiting(if: { $0.sync == sync && index == 0 }) {
            waiting.updates.drop(upTo: base)
            loading = .init(
                sync: sync,
                base: base,
                bytes: bytes,
                nextIndex: 1,
                lastProgress: now.monotonic,
                updates: waiting.updates
            )
        } else if var current = replication.takeLoading(if: {
            $0.sync == sync && index == $0.nextIndex && $0.decoding == nil
        }) {
            current.bytes += bytes
            current.nextIndex += 1
            current.lastProgress = now.monotonic
            loading = current
        } else {
            return
        }
        actions.append(.toPeer(PeerMessage.snapshotReceived(sync: sync, index: index).encoded()))
        if last {
            let work = nextWork
            nextWork += 1
            loading.decoding = work
            actions.append(.snapshotWork(.decode(id: work, bytes: loading.bytes)))
            loading.bytes = []
        }
        replication = .loading(loading)
    }

    mutating func snapshotDecoded(
        id: UInt64,
        result: Result<BrokerSnapshot, SnapshotWorkError>,
        milliseconds: Double,
        now: BrokerClock,
        into actions: inout [NodeAction]
    ) {
        guard case .loading(let loading) = replication, loading.decoding == id else { return }
        let snapshot: BrokerSnapshot
        switch result {
        case .success(let decoded):
            snapshot = decoded
        case .failure(let error):
            logger.error("snapshot-unreadable", metadata: ["reason": "\(error)"])
            replication = .waiting(.init())
            askForSnapshot(now: now, into: &actions)
            return
        }
        engine = BrokerEngine(snapshot: snapshot, logger: Self.quiet(logger))
        updateSeq = loading.base
        if journaling {
            // The journal follows this state from now on: the snapshot first, then what is applied.
            unsent.removeAll()
            unsentBytes = 0
            actions.append(.journal(.lineage(base: loading.base, snapshot: snapshot)))
            journalBytesSinceSnapshot = 0
        }
        checkEveryDigestUntil = loading.base + Self.fullyCheckedUpdates
        var loaded = loading
        loaded.decoding = nil
        loaded.loaded = true
        replication = .loading(loaded)
        logger.info(
            "standby-loaded",
            metadata: [
                "rooms": "\(engine.registry.rooms.count)", "seq": "\(loading.base)",
                "reason":
                    "decoded in \(Int(milliseconds)) ms off the loop; \(loading.updates.count) updates kept meanwhile",
            ]
        )
        if engine.registry.configuration.shard != configuration.shard {
            logger.warning(
                "shard-mismatch",
                metadata: [
                    "reason":
                        "the active serves shard \(engine.registry.configuration.shard), this broker was started with --shard \(configuration.shard): give both brokers of a pair the same; following the active's"
                ]
            )
        }
        applyKept(into: &actions)
    }

    /// Applies a batch of the updates kept while the snapshot loaded; once none is left the standby
    /// follows and acknowledges everything applied.
    mutating func applyKept(into actions: inout [NodeAction]) {
        guard var loading = replication.takeLoading(if: { $0.loaded }) else { return }
        for _ in 0..<Self.keptUpdatesPerBatch {
            guard let update = loading.updates.popFirst() else { break }
            guard update.seq == updateSeq + 1 else {
                logger.warning(
                    "standby-reloading",
                    metadata: ["reason": "updates \(updateSeq + 1)...\(update.seq - 1) missed while loading"]
                )
                replication = .waiting(.init())
                return
            }
            guard apply(seq: update.seq, input: update.input, digest: update.digest) else { return }
            if journaling { queueUpdate(update.input, digest: update.digest, into: &actions) }
        }
        guard loading.updates.count == 0 else {
            replication = .loading(loading)
            return
        }
        replication = .following(applied: updateSeq)
        actions.append(.toPeer(PeerMessage.ack(seq: updateSeq).encoded()))
    }

    /// Updates after a snapshot whose digests are all checked (a snapshot that decoded into another
    /// state than the active's shows at once).
    static var fullyCheckedUpdates: UInt64 { 10_000 }

    /// Kept updates applied per tick while catching up after a snapshot.
    static var keptUpdatesPerBatch: Int { 5_000 }

    /// Applies update `seq` to the engine and checks its digest; false (and reloading) when it differs.
    mutating func apply(seq: UInt64, input: BrokerInput, digest: UInt64) -> Bool {
        let (output, overdrawn) = engine.apply(input)
        lastEngineMonotonic = max(lastEngineMonotonic, input.now.monotonic)
        guard !overdrawn, !checksDigest(of: seq) || Self.digest(of: encode(output, identity: [])) == digest else {
            logger.error(
                "standby-diverged",
                metadata: [
                    "seq": "\(seq)", "reason": "update gave other output than on the active; reloading the state",
                ]
            )
            replication = .waiting(.init())
            return false
        }
        updateSeq = seq
        return true
    }

    /// Whether update `seq`'s output is checked against the active's digest: every one of the first
    /// updates after a snapshot, then a sample (``PairConfiguration/digestCheckInterval``).
    func checksDigest(of seq: UInt64) -> Bool {
        let interval = max(1, pair?.digestCheckInterval ?? 1)
        return interval == 1 || seq % interval == 0 || seq <= checkEveryDigestUntil
    }

    /// Applies (or keeps, while loading) update `seq`; a following standby acks it unless the caller
    /// acks a whole message of updates at once.
    mutating func receiveUpdate(
        seq: UInt64,
        input: BrokerInput,
        digest: UInt64,
        acknowledge: Bool = true,
        journal: Bool = true,
        into actions: inout [NodeAction]
    ) {
        let limit = pair?.maxBufferedBytes ?? 0
        if var waiting = replication.takeWaiting() {
            // A snapshot is on its way (or will be): it may be older than this update.
            if !waiting.updates.add(seq: seq, input: input, digest: digest, limit: limit) { waiting.updates = .init() }
            replication = .waiting(waiting)
            return
        }
        if var loading = replication.takeLoading() {
            guard seq > loading.base else {
                replication = .loading(loading)
                return
            }
            guard loading.updates.add(seq: seq, input: input, digest: digest, limit: limit) else {
                logger.warning(
                    "standby-reloading",
                    metadata: ["reason": "updates kept while loading exceed \(limit) bytes"]
                )
                replication = .waiting(.init())
                return
            }
            replication = .loading(loading)
            return
        }
        switch replication {
        case .following(let applied):
            guard seq > applied else { return }
            guard seq == applied + 1 else {
                logger.warning("standby-reloading", metadata: ["reason": "updates \(applied + 1)...\(seq - 1) missed"])
                replication = .waiting(.init())
                return
            }
            guard apply(seq: seq, input: input, digest: digest) else { return }
            if journaling, journal { queueUpdate(input, digest: digest, into: &actions) }
            replication = .following(applied: seq)
            if acknowledge { actions.append(.toPeer(PeerMessage.ack(seq: seq).encoded())) }
        case .standbyAbsent, .standbySyncing, .standbyInSync, .waiting, .loading:
            return
        }
    }
}
