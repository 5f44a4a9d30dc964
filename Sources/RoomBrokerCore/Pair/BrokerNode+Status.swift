import ChatWire

/// What a node says of itself: its role and the replication, for `/status` and the metrics.
extension BrokerNode {
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
    public func statusReport(
        now: BrokerClock,
        listing limit: Int = BrokerStatusReport.maxGateways
    ) -> BrokerStatusReport {
        var report = engine.statusReport(role: role, now: now.monotonic, listing: limit)
        report.term = term
        report.updates = updateSeq
        guard pair != nil else { return report }
        func since(_ time: UInt64?) -> UInt64? { time.map { now.monotonic >= $0 ? now.monotonic - $0 : 0 } }
        let state: ReplicationState
        var held = 0
        var unacknowledged: UInt64 = 0
        var last = lastUpdateAt
        switch replication {
        case .standbyAbsent:
            state = fenced ? .fenced : .standbyAbsent
            last = nil
        case .standbySyncing:
            state = .standbySyncing
            last = lastAckAt
        case .standbyInSync(let inSync):
            state = fenced ? .fenced : .standbyInSync
            held = inSync.held.count
            unacknowledged = updateSeq >= acknowledgedUpdate ? updateSeq - acknowledgedUpdate : 0
            last = lastAckAt
        case .waiting: state = .waitingForSnapshot
        case .loading: state = .loadingSnapshot
        case .following: state = .following
        }
        report.replication = .init(
            state: state,
            heldOutputs: held,
            unacknowledged: unacknowledged,
            sinceLastMs: since(last),
            takeover: lastTakeover.map(\.kind)
        )
        return report
    }

    /// The reply to a status command frame, built at most once per ``statusCacheMilliseconds`` while
    /// the role, term and fencing stay the same; nil when the frame does not decode (the engine refuses it).
    mutating func statusReply(frame: [UInt8], now: BrokerClock) -> [UInt8]? {
        guard let command = try? WireCommand.decode(frame) else { return nil }
        let role = role
        if statusCache.map({
            $0.role != role || $0.term != term || $0.fenced != fenced
                || now.monotonic >= $0.builtAt + Self.statusCacheMilliseconds
        }) ?? true {
            do throws(ChatError) {
                statusCache = (now.monotonic, role, term, fenced, try BrokerEngine.json(of: statusReport(now: now)))
            } catch {
                return WireReply(to: command, result: .failure(error)).encoded()
            }
        }
        return WireReply(to: command, result: .success(.init(json: statusCache?.json ?? []))).encoded()
    }
}
