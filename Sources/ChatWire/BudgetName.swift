/// A budget the broker keeps client-made state within, as its status report and metrics name it
/// (docs/PROTOCOL.md, "Budgets").
public enum BudgetName: String, Codable, Sendable, CaseIterable {
    /// Bytes of history and replay over all rooms (`--memory-budget`).
    case storedBytes = "stored-bytes"
    /// Rooms (`--max-rooms`).
    case rooms
    /// Members kept for their session grace after their connection dropped, over all rooms
    /// (`--max-disconnected-members`; each room keeps at most 1,000 of them, or half its cap, and 64 per
    /// client address key).
    case disconnectedMembers = "disconnected-members"
    /// Message idempotency keys over all rooms (a minute's, at most 1,024 per room).
    case messageKeys = "message-keys"
    /// Room-creation idempotency keys (two minutes', at most 10,000).
    case createKeys = "create-keys"
    /// Keys of the per-connection and per-address limiters: wrong passwords, creations and joins (idle
    /// ones purged every 10 s).
    case limiterKeys = "limiter-keys"
    /// Entries of the global account of stored bytes (stale ones compacted past twice the live ones).
    case ledgerEntries = "ledger-entries"
    /// Memberships waiting for their session grace to end (stale ones skipped as they come up).
    case graceEntries = "grace-entries"
}
