/// A state read back from the journal on disk: the newest readable snapshot and the inputs after it.
/// ``BrokerNode/recover(_:now:)`` replays them.
public struct RecoveredState: Sendable {
    /// The snapshot, taken after update ``base``.
    public var snapshot: BrokerSnapshot
    /// The update the snapshot was taken after.
    public var base: UInt64
    /// The journal's entries after the snapshot, oldest first (never a ``JournalEntry/lineage(base:snapshot:)``).
    public var entries: [JournalEntry]
    /// Whether every acknowledged input is known to be in it (`--fsync always`): gateways may then go on
    /// with the same numbering. Otherwise the state takes a new instance id, so gateways make their
    /// members rejoin rather than trust events that may have been lost.
    public var keepsEveryAcknowledged: Bool

    /// A recovered state.
    public init(snapshot: BrokerSnapshot, base: UInt64, entries: [JournalEntry], keepsEveryAcknowledged: Bool) {
        self.snapshot = snapshot
        self.base = base
        self.entries = entries
        self.keepsEveryAcknowledged = keepsEveryAcknowledged
    }
}
