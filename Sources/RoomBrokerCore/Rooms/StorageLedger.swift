/// The broker-wide account of bytes kept in every room's history and replay stores, in the order they
/// were added, so that over the global budget the oldest are dropped first, whichever room holds them.
struct StorageLedger: Sendable, Codable {
    /// One kept element: which room (and incarnation), which store, which seq.
    struct Entry: Sendable, Codable {
        var room: String
        var incarnation: UInt64
        var store: Room.Store
        var seq: UInt64
    }

    private var entries = FIFOQueue<Entry>()
    /// Bytes kept over all rooms.
    private(set) var totalBytes = 0
    /// Elements kept over all rooms.
    private(set) var liveCount = 0

    /// Counts a newly kept element.
    mutating func added(_ entry: Entry, bytes: Int) {
        entries.append(entry)
        totalBytes += bytes
        liveCount += 1
    }

    /// Counts elements no longer kept (their entries go stale and are skipped later).
    mutating func released(count: Int, bytes: Int) {
        totalBytes -= bytes
        liveCount -= count
    }

    /// The oldest entry, which may be stale.
    mutating func popOldest() -> Entry? {
        entries.popFirst()
    }

    /// Drops stale entries once they outnumber the live ones, so the ledger stays O(kept elements).
    mutating func compactIfNeeded(isLive: (Entry) -> Bool) {
        guard entries.count > 2 * liveCount + 1024 else { return }
        entries.retain(isLive)
    }

    /// Entries held, stale ones included (for tests).
    var entryCount: Int { entries.count }
}
