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
    /// Its replication position: the number of the last update an active sent (or numbered while no
    /// standby listened), or the last one a standby applied. Updates and heartbeats travel in one
    /// ordered pipe, so a standby that hears an active's position above its own has missed updates
    /// and reloads; an active that hears its own position from a standby with state takes it back.
    public var position: UInt64

    /// A status.
    public init(state: PairState, term: UInt64, isPrimary: Bool, hasState: Bool, position: UInt64 = 0) {
        self.state = state
        self.term = term
        self.isPrimary = isPrimary
        self.hasState = hasState
        self.position = position
    }
}
