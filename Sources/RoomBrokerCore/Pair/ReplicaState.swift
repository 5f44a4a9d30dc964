/// Where a standby stands in copying the active's state (the Clone pattern).
enum ReplicaState: Sendable {
    /// Has no state; asks for a snapshot (the last request's tag and when it was sent).
    case waiting(sync: UInt64?, askedAt: UInt64?)
    /// Receiving snapshot `sync` taken after update `base`: its chunks so far, and the updates that
    /// came meanwhile (applied once it is loaded).
    case loading(sync: UInt64, base: UInt64, chunks: [UInt8], nextIndex: UInt32, updates: [(UInt64, BrokerInput, UInt64)], bytes: Int)
    /// Holds the state up to update `applied`.
    case following(applied: UInt64)
}
