/// The rooms whose events follow each other within the fan-out's coalescing window: only for those
/// does waiting a little put several frames into one write per member. An event of a quiet room is
/// written at once.
///
/// Keeps the time of each room's last event; entries older than the window are dropped whenever the
/// table has doubled since the last sweep, so it holds at most about twice the rooms active within
/// one window (and at least ``minimumSweepSize``).
struct BusyRooms {
    /// The table size below which no sweep is done.
    static let minimumSweepSize = 1_024

    /// The coalescing window in nanoseconds.
    let window: UInt64
    private var lastEvent: [String: UInt64] = [:]
    private var sweepAt = Self.minimumSweepSize

    /// A table for a window of `window` nanoseconds.
    init(window: UInt64) {
        self.window = window
    }

    /// Rooms in the table (for tests).
    var count: Int { lastEvent.count }

    /// Records an event of `room` at `now` (monotonic nanoseconds); returns whether the room's previous
    /// event came less than the window before.
    mutating func recordEvent(of room: String, now: UInt64) -> Bool {
        let previous = lastEvent.updateValue(now, forKey: room)
        if lastEvent.count >= sweepAt {
            lastEvent = lastEvent.filter { now &- $0.value < window }
            sweepAt = max(Self.minimumSweepSize, 2 * lastEvent.count)
        }
        guard let previous else { return false }
        return now &- previous < window
    }
}
