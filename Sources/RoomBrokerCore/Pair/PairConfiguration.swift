/// How a broker works in a pair (absent: a broker alone, always active).
public struct PairConfiguration: Sendable {
    /// Primary or backup.
    public var role: PairRole
    /// Heartbeats to the peer, ms.
    public var heartbeatMilliseconds: UInt64 = 250
    /// Silence after which the peer counts as gone, ms.
    public var peerTimeoutMilliseconds: UInt64 = 1_000
    /// Silence of the peer after which a broker without the pair's state may take over on a vote
    /// (the peer counts as gone for good), ms; nil: ten peer timeouts; 0: at once (the operator's
    /// `--allow-takeover-without-state`: the rooms are lost if the peer comes back).
    public var statelessTakeoverMilliseconds: UInt64?
    /// How often a standby without state asks the active for a snapshot, ms.
    public var syncRetryMilliseconds: UInt64 = 2_000
    /// Most bytes of updates a loading standby buffers before it starts over.
    public var maxBufferedBytes = 256 << 20
    /// Most outputs an active holds for a standby that is alive but does not keep up; past it the
    /// standby is dropped (it reloads) and the active acknowledges alone meanwhile.
    public var maxHeldOutputs = 100_000
    /// A following standby checks the digest of every update numbered a multiple of this (and every
    /// update for a while after a snapshot loads); 1 checks them all. Rebuilding each update's frames
    /// only to check them cost the standby ~15 % of its loop; a standby whose state went wrong gives
    /// other output for most later updates, so sampling finds it within a few.
    public var digestCheckInterval: UInt64 = 16

    /// A pair configuration for `role`.
    public init(role: PairRole) {
        self.role = role
    }
}
