/// Where the replication between the two brokers of a pair stands, seen from one of them.
public enum ReplicationState: String, Sendable, Codable, CaseIterable {
    /// An active without a standby: it acknowledges alone (a crash now loses what it acknowledged since).
    case standbyAbsent = "standby_absent"
    /// An active whose standby is loading its snapshot.
    case standbySyncing = "standby_syncing"
    /// An active whose standby has every acknowledged change: replies wait for its acks.
    case standbyInSync = "standby_in_sync"
    /// An active whose standby fell silent and that hears fewer than a quorum of the gateways: it
    /// answers `not_active` (the standby may be taking over with them) until either is heard again.
    case fenced
    /// A standby without the state: it asks the active for a snapshot.
    case waitingForSnapshot = "waiting_for_snapshot"
    /// A standby loading the active's snapshot.
    case loadingSnapshot = "loading_snapshot"
    /// A standby applying the active's updates as they come.
    case following
}
