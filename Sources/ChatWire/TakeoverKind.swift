/// Why a broker of a pair became active (docs/ARCHITECTURE.md, "Standby broker").
public enum TakeoverKind: String, Sendable, Codable, CaseIterable {
    /// The pair started and this is the primary (or no peer answered at start).
    case started
    /// The peer fell silent and a quorum of gateways voted.
    case vote
    /// The active handed over while stopping.
    case handover
    /// The peer restarted without the state, which this broker has.
    case peerRestarted = "peer_restarted"
    /// Neither broker had the state: the primary started afresh (rooms lost).
    case bothWithoutState = "both_without_state"
    /// The peer was silent long enough to count as gone and the gateways voted, but this broker never
    /// got the state: it serves afresh (rooms lost), or the operator allowed it at once.
    case voteWithoutState = "vote_without_state"
}
