import ChatWire

/// The active's side of the replication: updates, held outputs, snapshots for a standby, fencing.
extension BrokerNode {
    /// Applies the pair's rules to what `input` produced: numbered, sent to a standby, and held until
    /// its ack while it is in sync. `immediate`: a heartbeat, whose reply says only that this broker is
    /// alive and promises nothing to a client; held, it would make the gateways fail over whenever the
    /// standby is slow or gone.
    mutating func emit(
        _ input: BrokerInput,
        output: BrokerOutput,
        identity: [UInt8]?,
        immediate: Bool = false,
        into actions: inout [NodeAction]
    ) {
        let encoded = encode(output, identity: identity)
        guard pair != nil || journaling else {
            actions += encoded
            return
        }
        // Numbered even when no standby listens: the position in the heartbeat then tells a standby
        // that it missed updates.
        updateSeq += 1
        if journaling || replication.isInSync {
            // Queued while the phase is in place: a full message goes out now, and flushing looks at
            // the phase (taken out below, it would read as no standby and drop the updates). Only a
            // standby checks digests: a broker alone journals none.
            queueUpdate(input, digest: pair == nil ? 0 : Self.digest(of: encoded), into: &actions)
        }
        if let pair, var inSync = replication.takeInSync() {
            if immediate {
                actions += encoded
            } else if !encoded.isEmpty {
                inSync.held.append(Replication.HeldOutput(seq: updateSeq, actions: encoded))
            }
            if inSync.held.count > pair.maxHeldOutputs {
                logger.warning(
                    "standby-lost",
                    metadata: [
                        "reason":
                            "\(inSync.held.count) replies wait for its acks: too slow; acknowledging alone until it reloads",
                        "term": "\(term)",
                    ]
                )
                release(&inSync, upTo: .max, into: &actions)
                return
            }
            replication = .standbyInSync(inSync)
            return
        }
        if !journaling, case .standbySyncing = replication {
            // The standby keeps these until its snapshot is loaded; it does not count yet.
            queueUpdate(input, digest: Self.digest(of: encoded), into: &actions)
        }
        actions += encoded
    }

    /// Adds update `updateSeq` to the next message to the standby (sending the message first if this
    /// one would pass the frame limit).
    mutating func queueUpdate(_ input: BrokerInput, digest: UInt64, into actions: inout [NodeAction]) {
        let size = Replication.UpdateBuffer.size(of: input) + 16
        if !unsent.isEmpty, unsentBytes + size > PeerMessage.maxSize - 64 { flushUpdates(into: &actions) }
        unsent.append(PeerMessage.Update(seq: updateSeq, input: input, digest: digest))
        unsentBytes += size
    }

    /// Sends the queued updates as one message.
    mutating func flushUpdates(into actions: inout [NodeAction]) {
        guard let last = unsent.last?.seq else { return }
        defer {
            unsent.removeAll(keepingCapacity: true)
            unsentBytes = 0
        }
        let toPeer: Bool
        switch replication {
        case .standbyInSync, .standbySyncing:
            toPeer = true
        case .standbyAbsent, .waiting, .loading, .following:
            // The standby was dropped meanwhile: it reloads (the position in the next heartbeat tells it).
            toPeer = false
        }
        guard toPeer || journaling else { return }
        // Encoded once: the standby and the journal get the same bytes.
        let frame = PeerMessage.updates(unsent).encoded()
        if toPeer { actions.append(.toPeer(frame)) }
        if journaling {
            actions.append(.journal(.updates(last: last, frame: frame)))
            journalBytesSinceSnapshot += frame.count
        }
    }

    func release(_ inSync: inout Replication.InSync, upTo seq: UInt64, into actions: inout [NodeAction]) {
        // Moved out, not copied: a held output's frames are not retained and released once more each.
        while let first = inSync.held.first?.seq, first <= seq, let output = inSync.held.popFirst() {
            if actions.isEmpty {
                actions = output.actions
            } else {
                actions.append(contentsOf: output.actions)
            }
        }
    }

    /// Releases every held output and stops counting on the standby.
    mutating func dropStandby(into actions: inout [NodeAction]) {
        if var inSync = replication.takeInSync() { release(&inSync, upTo: .max, into: &actions) }
        replication = .standbyAbsent
    }

    mutating func receiveAck(seq: UInt64, now: BrokerClock, into actions: inout [NodeAction]) {
        lastAckAt = now.monotonic
        acknowledgedUpdate = seq
        if case .standbySyncing(let sending) = replication, seq >= sending.base {
            replication = .standbyInSync(.init())
            logger.info("standby-in-sync", metadata: ["seq": "\(seq)", "term": "\(term)"])
        } else if var inSync = replication.takeInSync() {
            release(&inSync, upTo: seq, into: &actions)
            replication = .standbyInSync(inSync)
        }
    }

    /// The active's periodic pair work: a silent standby is dropped, and the active fences itself
    /// unless it hears a quorum of the gateways it knew when the standby fell silent.
    mutating func activeTick(now: BrokerClock, into actions: inout [NodeAction]) {
        guard let pair, let star else { return }
        guard !star.peerAlive(now: now.monotonic) else {
            quorumBase = nil
            if fenced {
                fenced = false
                logger.notice("unfenced", metadata: ["reason": "the standby answers again", "term": "\(term)"])
            }
            return
        }
        if quorumBase == nil {
            quorumBase = gatewaysHeard(within: 3 * pair.peerTimeoutMilliseconds, now: now.monotonic)
        }
        let quorum = hasGatewayQuorum(now: now)
        switch replication {
        case .standbySyncing:
            logger.warning(
                "standby-lost",
                metadata: [
                    "reason": "no heartbeat for \(pair.peerTimeoutMilliseconds) ms while it loaded the snapshot",
                    "term": "\(term)",
                ]
            )
            replication = .standbyAbsent
        case .standbyInSync where quorum:
            logger.warning(
                "standby-lost",
                metadata: [
                    "reason":
                        "no heartbeat for \(pair.peerTimeoutMilliseconds) ms: acknowledging alone (a quorum of gateways is heard)",
                    "term": "\(term)",
                ]
            )
            dropStandby(into: &actions)
        default:
            break
        }
        if quorum == fenced {
            fenced = !quorum
            if fenced {
                logger.warning(
                    "fenced",
                    metadata: [
                        "reason":
                            "standby silent and fewer than a quorum of \(quorumBase?.count ?? 0) gateways heard: answering not_active (the standby may be taking over)",
                        "term": "\(term)",
                    ]
                )
            } else {
                logger.notice(
                    "unfenced",
                    metadata: ["reason": "a quorum of gateways is heard again", "term": "\(term)"]
                )
                dropStandby(into: &actions)
            }
        }
    }

    /// The peer's position in its heartbeat. A standby behind its active's position missed updates and
    /// reloads; an active whose dropped standby reports exactly its own position takes it back.
    mutating func peerPosition(_ peer: PeerStatus, now: BrokerClock, into actions: inout [NodeAction]) {
        switch replication {
        case .following(let applied) where peer.state == .active && peer.position > applied:
            logger.warning(
                "standby-reloading",
                metadata: [
                    "reason":
                        "the active is at update \(peer.position), this standby at \(applied): updates were missed"
                ]
            )
            replication = .waiting(.init())
            askForSnapshot(now: now, into: &actions)
        case .standbyAbsent
        where isActive && !fenced && peer.state == .passive && peer.hasState
            && peer.position == updateSeq && peer.term == term:
            replication = .standbyInSync(.init())
            logger.info(
                "standby-in-sync",
                metadata: ["seq": "\(updateSeq)", "term": "\(term)", "reason": "it kept up while silent"]
            )
        default:
            break
        }
    }

    // MARK: Snapshots for the standby

    /// A standby asked for the state. At most one snapshot is in flight: a retry while it is encoded
    /// takes it over; a repeat of the tag being sent is ignored; a new tag after parts went out means the
    /// standby started over, and gets a new snapshot.
    mutating func startSnapshot(sync: UInt64, into actions: inout [NodeAction]) {
        guard isActive || leaving else { return }
        if case .standbySyncing(var sending) = replication {
            if sending.bytes == nil {
                sending.sync = sync
                replication = .standbySyncing(sending)
                return
            }
            if sending.sync == sync { return }
        }
        // What was held for the old standby is released: the new one starts from this snapshot.
        dropStandby(into: &actions)
        let work = nextWork
        nextWork += 1
        replication = .standbySyncing(.init(sync: sync, base: updateSeq, work: work))
        actions.append(.snapshotWork(.encode(id: work, snapshot: engine.snapshot())))
    }

    mutating func snapshotEncoded(
        id: UInt64,
        result: Result<[UInt8], SnapshotWorkError>,
        milliseconds: Double,
        into actions: inout [NodeAction]
    ) {
        guard case .standbySyncing(var sending) = replication, sending.work == id, sending.bytes == nil else { return }
        switch result {
        case .success(let bytes):
            sending.bytes = bytes
            logger.info(
                "snapshot-encoded",
                metadata: [
                    "rooms": "\(engine.registry.rooms.count)", "seq": "\(sending.base)",
                    "reason":
                        "\(bytes.count) bytes in \(sending.parts) parts, encoded in \(Int(milliseconds)) ms off the loop",
                ]
            )
            replication = .standbyAbsent
            sendParts(&sending, into: &actions)
            replication = .standbySyncing(sending)
        case .failure(let error):
            logger.error("snapshot-failed", metadata: ["reason": "\(error)"])
            replication = .standbyAbsent
        }
    }

    mutating func snapshotReceived(sync: UInt64, index: UInt32, into actions: inout [NodeAction]) {
        guard case .standbySyncing(var sending) = replication, sending.sync == sync, index < sending.next else {
            return
        }
        replication = .standbyAbsent
        sending.confirmed = max(sending.confirmed, index + 1)
        sendParts(&sending, into: &actions)
        replication = .standbySyncing(sending)
    }

    /// Sends parts while fewer than ``PeerMessage/chunkWindow`` wait for confirmation.
    func sendParts(_ sending: inout Replication.Sending, into actions: inout [NodeAction]) {
        guard let bytes = sending.bytes else { return }
        let parts = sending.parts
        while sending.next < parts, sending.next < sending.confirmed + PeerMessage.chunkWindow {
            let start = Int(sending.next) * PeerMessage.chunkSize
            let end = min(bytes.count, start + PeerMessage.chunkSize)
            actions.append(
                .toPeer(
                    PeerMessage.snapshot(
                        sync: sending.sync,
                        base: sending.base,
                        index: sending.next,
                        last: sending.next + 1 == parts,
                        bytes: Array(bytes[start..<end])
                    ).encoded()
                )
            )
            sending.next += 1
        }
    }

    // MARK: Quorum

    /// The gateways heard (hello or heartbeat, on this broker's own clock) within `window` ms of `now`.
    func gatewaysHeard(within window: UInt64, now: UInt64) -> Set<String> {
        Set(heard.compactMap { gateway, at in now < at || now - at < window ? gateway : nil })
    }

    /// Records a gateway's hello or heartbeat; forgets gateways silent for a minute (bounded by the
    /// gateways that may connect at all).
    mutating func hear(_ gateway: String, now: UInt64) {
        heard[gateway] = now
        if heard.count > 16, now >= lastHeardPrune + 60_000 {
            lastHeardPrune = now
            heard = heard.filter { now < $0.value || now - $0.value < 60_000 }
        }
    }

    /// Whether an active without its standby hears a quorum of the gateways it heard when the standby
    /// fell silent (exactly half will do: the active is the incumbent). A gateway counts when heard
    /// within a peer timeout AND after the standby's last heartbeat plus half a peer timeout: a gateway
    /// cut off at the same moment as the standby was last heard at most one peer heartbeat (250 ms) after
    /// the standby's last one, and it fails over (and may vote for the standby) a peer timeout after
    /// that; were it counted when the standby's silence is noticed, the active would acknowledge alone,
    /// for a moment, what the standby elected by that gateway never got. So the window is half a peer
    /// timeout when the silence is noticed, and grows to a whole one as the silence goes on.
    func hasGatewayQuorum(now: BrokerClock) -> Bool {
        guard let pair, let star, let base = quorumBase else { return true }
        let silence = star.peerSilence(now: now.monotonic)
        let half = pair.peerTimeoutMilliseconds / 2
        let window = min(pair.peerTimeoutMilliseconds, silence > half ? silence - half : 0)
        let heard = gatewaysHeard(within: window, now: now.monotonic)
        return Self.isQuorum(base.intersection(heard).count, of: base.count, winsTie: true)
    }

    /// Whether the votes of the last few peer timeouts make a quorum of the gateways live in this
    /// standby's copy of the state (the ones the active heard last): more than half; exactly half only
    /// once the peer has been silent for ten peer timeouts (until then a tie goes to the active, which
    /// may be alive behind a partition).
    mutating func hasVoteQuorum(now: BrokerClock) -> Bool {
        guard let pair else { return true }
        let window = 3 * pair.peerTimeoutMilliseconds
        votes = votes.filter { now.monotonic < $0.value + window }
        let known: Set<String>
        if hasState {
            let last = lastEngineMonotonic
            known = Set(
                engine.gateways.entries.compactMap { id, entry in
                    last < entry.lastSeen || last - entry.lastSeen < window ? id : nil
                }
            )
        } else {
            known = []
        }
        guard !known.isEmpty else { return !votes.isEmpty }
        let goneForGood = (star?.peerSilence(now: now.monotonic) ?? 0) >= 10 * pair.peerTimeoutMilliseconds
        return Self.isQuorum(known.intersection(votes.keys).count, of: known.count, winsTie: goneForGood)
    }

    /// More than half of `known`, or exactly half when this side wins a tie.
    static func isQuorum(_ count: Int, of known: Int, winsTie: Bool) -> Bool {
        known == 0 || 2 * count > known || (2 * count == known && winsTie)
    }
}
