import ChatWire

/// Who of the two brokers of a pair is active: the ZeroMQ guide's Binary Star state machine, as plain
/// state driven by the peer's heartbeats, gateway votes and the clock (monotonic ms).
///
/// A standby takes over only when it has not heard its peer for ``peerTimeoutMilliseconds`` AND a
/// quorum of the gateways asks it to (their `hello`s: the "client vote"; ``BrokerNode`` counts them),
/// so a broken link between the brokers alone never makes two actives; the fencing ``term`` rises at
/// each takeover and settles the rare case of two. A broker without the pair's state takes over on a
/// vote only once its peer has been silent for ``statelessTakeoverMilliseconds`` (gone for good, not
/// busy or cut off), or at once when the operator allowed it.
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
        /// Neither broker has the state (both restarted): the primary starts afresh.
        case bothWithoutState = "neither broker has the state: starting afresh"
        /// The peer has been silent long enough to count as gone and the gateways voted, but this
        /// broker never got the state: it serves afresh rather than not at all.
        case voteWithoutState = "peer gone for good, gateways voted; this broker has no state"

        /// The reason as the status reports it.
        public var kind: TakeoverKind {
            switch self {
            case .started: return .started
            case .vote: return .vote
            case .handover: return .handover
            case .peerRestarted: return .peerRestarted
            case .bothWithoutState: return .bothWithoutState
            case .voteWithoutState: return .voteWithoutState
            }
        }
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
    /// Silence after which a broker without the state may take over on a vote, ms (0: at once).
    public let statelessTakeoverMilliseconds: UInt64
    private let startedAt: UInt64
    private var lastHeard: UInt64?

    /// A broker starting at `now` in `role`. `statelessTakeoverMilliseconds`: how long the peer must
    /// be silent before this broker takes over without the state (default ten peer timeouts).
    public init(
        role: PairRole,
        peerTimeoutMilliseconds: UInt64,
        statelessTakeoverMilliseconds: UInt64? = nil,
        now: UInt64
    ) {
        self.isPrimary = role == .primary
        self.state = role == .primary ? .primary : .backup
        self.peerTimeoutMilliseconds = peerTimeoutMilliseconds
        self.statelessTakeoverMilliseconds = statelessTakeoverMilliseconds ?? 10 * peerTimeoutMilliseconds
        self.startedAt = now
    }

    /// How long the peer has been silent at `now` (since this broker started when never heard), ms.
    public func peerSilence(now: UInt64) -> UInt64 {
        let since = lastHeard ?? startedAt
        return now >= since ? now - since : 0
    }

    /// Whether the peer was heard within the timeout.
    public func peerAlive(now: UInt64) -> Bool {
        guard let lastHeard else { return false }
        return now < lastHeard || now - lastHeard < peerTimeoutMilliseconds
    }

    /// The peer's heartbeat. `hasState`: whether this broker holds the pair's state; `rank`: that
    /// state's term (when it was last made active) and last update. While both start, states read back
    /// from disk (a starting peer's ``PeerStatus/hasState``, its term then its state's) are compared:
    /// the newer one serves, the primary's on a tie.
    public mutating func peer(
        _ peer: PeerStatus,
        now: UInt64,
        hasState: Bool,
        rank: (term: UInt64, position: UInt64) = (0, 0)
    ) -> Change {
        lastHeard = now
        let peerRank = (peer.term, peer.position)
        let outranksPeer = hasState && (!peer.hasState || rank > peerRank)
        let peerOutranks = peer.hasState && (!hasState || peerRank > rank)
        switch state {
        case .primary:
            term = max(term, peer.term)
            switch peer.state {
            case .active: return becomePassive(nil)
            case .passive where peer.hasState: return becomePassive(nil)  // it takes over, then syncs us
            case .backup where peerOutranks: return .none  // the backup's state is newer: it starts
            case .backup, .passive: return becomeActive(.started)
            case .primary: return .none
            }
        case .backup:
            term = max(term, peer.term)
            switch peer.state {
            case .active: return becomePassive(nil)
            case .passive where peer.hasState: return becomePassive(nil)
            case .primary where outranksPeer: return becomeActive(.started)
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
            case .primary, .backup:
                if hasState { return becomeActive(.peerRestarted) }
                // Both restarted without the state: the primary starts afresh.
                return !peer.hasState && isPrimary ? becomeActive(.bothWithoutState) : .none
            case .passive:
                // Both standing by (the active died and nobody voted yet): the one with the state, or the
                // primary when both have it, goes on.
                if hasState && (!peer.hasState || isPrimary) { return becomeActive(.peerRestarted) }
                return .none
            }
        }
    }

    /// A gateway's hello, when it completes a quorum of votes (`quorum`): true when this broker is
    /// (now) active and serves it. `hasState`: whether this broker holds the pair's state.
    public mutating func vote(now: UInt64, quorum: Bool, hasState: Bool) -> (serves: Bool, change: Change) {
        if state == .active { return (true, .none) }
        guard quorum, !peerAlive(now: now) else { return (false, .none) }
        let silence = peerSilence(now: now)
        switch state {
        case .passive where hasState:
            return (true, becomeActive(.vote))
        case .passive where silence >= statelessTakeoverMilliseconds:
            return (true, becomeActive(.voteWithoutState))
        case .primary where silence >= max(peerTimeoutMilliseconds, statelessTakeoverMilliseconds),
            .backup
        where silence >= max(2 * peerTimeoutMilliseconds, statelessTakeoverMilliseconds + peerTimeoutMilliseconds):
            // Starting, and no peer answered: the pair starts here (the backup waits longer, so that
            // the primary wins when both start cut off from each other).
            return (true, becomeActive(.started))
        case .active, .passive, .primary, .backup:
            return (false, .none)
        }
    }

    /// A state read back from disk that was made active in `term`: the broker starts from it.
    public mutating func restore(term: UInt64) {
        self.term = max(self.term, term)
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
