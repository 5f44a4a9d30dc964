/// Who of the two brokers of a pair is active: the ZeroMQ guide's Binary Star state machine, as plain
/// state driven by the peer's heartbeats, gateway votes and the clock (monotonic ms).
///
/// A standby takes over only when it has not heard its peer for ``peerTimeoutMilliseconds`` AND a
/// gateway asks it to (a `hello`: the "client vote"), so a broken link between the brokers alone never
/// makes two actives; the fencing ``term`` rises at each takeover and settles the rare case of two.
public struct BinaryStar: Sendable {
    /// Why a broker became active.
    public enum Takeover: String, Sendable, Equatable {
        /// Both started; this is the primary (or the peer is a standby without state).
        case started = "pair started"
        /// The peer fell silent and a gateway voted.
        case vote = "peer silent, gateway voted"
        /// The active handed over (it is stopping).
        case handover = "peer handed over"
        /// The peer restarted and lost its state; this one has it.
        case peerRestarted = "peer restarted without state"
    }

    /// Why a broker stopped being active.
    public enum StepDown: String, Sendable, Equatable {
        /// The peer is active with a higher term (or the same term and it is the primary).
        case peerActive = "peer is active with a higher term"
    }

    /// A change of state to act on.
    public enum Change: Sendable, Equatable {
        /// Nothing changed.
        case none
        /// Now active, with the new term.
        case becameActive(Takeover)
        /// Now passive (its state must be fetched again).
        case becamePassive(StepDown?)
    }

    /// The current state.
    public private(set) var state: PairState
    /// The highest fencing term known.
    public private(set) var term: UInt64 = 0
    /// Whether this broker was started as the primary.
    public let isPrimary: Bool
    /// Silence after which the peer counts as gone, ms.
    public let peerTimeoutMilliseconds: UInt64
    private let startedAt: UInt64
    private var lastHeard: UInt64?

    /// A broker starting at `now` in `role`.
    public init(role: PairRole, peerTimeoutMilliseconds: UInt64, now: UInt64) {
        self.isPrimary = role == .primary
        self.state = role == .primary ? .primary : .backup
        self.peerTimeoutMilliseconds = peerTimeoutMilliseconds
        self.startedAt = now
    }

    /// Whether the peer was heard within the timeout.
    public func peerAlive(now: UInt64) -> Bool {
        guard let lastHeard else { return false }
        return now < lastHeard || now - lastHeard < peerTimeoutMilliseconds
    }

    /// The peer's heartbeat. `hasState`: whether this broker holds the pair's state.
    public mutating func peer(_ peer: PeerStatus, now: UInt64, hasState: Bool) -> Change {
        lastHeard = now
        switch state {
        case .primary:
            term = max(term, peer.term)
            switch peer.state {
            case .active: return becomePassive(nil)
            case .passive where peer.hasState: return becomePassive(nil)  // it takes over, then syncs us
            case .backup, .passive: return becomeActive(.started)
            case .primary: return .none
            }
        case .backup:
            term = max(term, peer.term)
            switch peer.state {
            case .active: return becomePassive(nil)
            case .passive where peer.hasState: return becomePassive(nil)
            case .primary, .backup, .passive: return .none
            }
        case .active:
            guard peer.state == .active else { return .none }
            if peer.term > term || (peer.term == term && peer.isPrimary && !isPrimary) {
                term = peer.term
                return becomePassive(.peerActive)
            }
            return .none
        case .passive:
            term = max(term, peer.term)
            switch peer.state {
            case .active: return .none
            case .primary, .backup: return hasState ? becomeActive(.peerRestarted) : .none
            case .passive:
                // Both standing by (the active died and nobody voted yet): the one with the state, or the
                // primary when both have it, goes on.
                if hasState && (!peer.hasState || isPrimary) { return becomeActive(.peerRestarted) }
                return .none
            }
        }
    }

    /// A gateway's hello: its vote. True when this broker is (now) active and serves it.
    public mutating func vote(now: UInt64) -> (serves: Bool, change: Change) {
        let waited = now >= startedAt ? now - startedAt : 0
        switch state {
        case .active:
            return (true, .none)
        case .primary where waited >= peerTimeoutMilliseconds && !peerAlive(now: now),
             .backup where waited >= 2 * peerTimeoutMilliseconds && !peerAlive(now: now),
             .passive where !peerAlive(now: now):
            return (true, becomeActive(.vote))
        case .primary, .backup, .passive:
            return (false, .none)
        }
    }

    /// The active peer said it is stopping: a standby with the state takes over at once.
    public mutating func handover(peerTerm: UInt64, hasState: Bool) -> Change {
        term = max(term, peerTerm)
        guard state == .passive, hasState else { return .none }
        return becomeActive(.handover)
    }

    private mutating func becomeActive(_ reason: Takeover) -> Change {
        state = .active
        term += 1
        return .becameActive(reason)
    }

    private mutating func becomePassive(_ reason: StepDown?) -> Change {
        state = .passive
        return .becamePassive(reason)
    }
}
