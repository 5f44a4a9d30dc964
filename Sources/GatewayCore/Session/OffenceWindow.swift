import NIOCore

/// Counts a connection's offences (malformed or unknown packets and events, frames over the rate
/// limit) on the monotonic clock and says when `limit` of them fell within `window`. Keeps the
/// times of the last `limit` offences only, allocated as they come.
struct OffenceWindow {
    /// How many offences within `window` are too many.
    let limit: Int
    /// The length of the sliding window.
    let window: TimeAmount
    /// The times of the last `limit` offences, a ring whose oldest entry is at `next` once full.
    private var times: [NIODeadline] = []
    private var next = 0

    /// Too many is `limit` offences (at least 1) within `window`.
    init(limit: Int, window: TimeAmount) {
        self.limit = max(1, limit)
        self.window = window
    }

    /// Records one offence at `now`; true when it is the `limit`-th within the window ending now.
    mutating func record(at now: NIODeadline) -> Bool {
        if times.count < limit {
            times.append(now)
        } else {
            times[next] = now
        }
        next = (next + 1) % limit
        guard times.count == limit else { return false }
        return now - times[next] < window
    }
}
