/// What one broker of a pair tells the other in every heartbeat.
public struct PeerStatus: Equatable, Sendable {
    /// Its Binary Star state.
    public var state: PairState
    /// The highest fencing term it knows.
    public var term: UInt64
    /// Whether it was started as the primary.
    public var isPrimary: Bool
    /// Whether it holds the pair's state (an active, or a standby that caught up).
    public var hasState: Bool

    /// A status.
    public init(state: PairState, term: UInt64, isPrimary: Bool, hasState: Bool) {
        self.state = state
        self.term = term
        self.isPrimary = isPrimary
        self.hasState = hasState
    }
}
