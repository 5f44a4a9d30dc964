/// Counts events per key in a sliding window and says when a key has had too many.
///
/// A sliding-window counter: the count of the previous fixed window, weighted by how much of it still
/// lies inside the last `windowMilliseconds`, plus the current window's count. Unlike plain fixed
/// windows it does not allow twice the limit across a window boundary. Times are monotonic ms.
public struct AttemptLimiter: Sendable, Codable {
    private struct Counts: Sendable, Codable {
        /// Start of the current fixed window (a multiple of the window length).
        var start: UInt64
        var current: Int
        var previous: Int
    }

    /// Events allowed per key in one window.
    public let limit: Int
    /// Window length in milliseconds.
    public let windowMilliseconds: UInt64
    private var counts: [String: Counts] = [:]

    /// A limiter allowing `limit` events per key in any `windowMilliseconds`.
    public init(limit: Int, windowMilliseconds: UInt64) {
        self.limit = limit
        self.windowMilliseconds = max(1, windowMilliseconds)
    }

    /// Whether `key` has used up its events in the window ending at `now`.
    public func isBlocked(_ key: String, now: UInt64) -> Bool {
        guard let counts = rolled(key, now: now) else { return false }
        return estimate(counts, now: now) >= Double(limit)
    }

    /// Keys counted now (idle ones go at the next ``purge(now:)``).
    public var keyCount: Int { counts.count }

    /// Counts one event for `key` at `now`.
    public mutating func record(_ key: String, now: UInt64) {
        var counts = rolled(key, now: now) ?? Counts(start: windowStart(now), current: 0, previous: 0)
        counts.current += 1
        self.counts[key] = counts
    }

    /// Milliseconds until `key` may try again (0 when not blocked).
    public func retryAfter(_ key: String, now: UInt64) -> UInt64 {
        guard let counts = rolled(key, now: now), estimate(counts, now: now) >= Double(limit) else { return 0 }
        let window = Double(windowMilliseconds)
        let elapsed = Double(now >= counts.start ? now - counts.start : 0)
        let wait: Double
        if counts.current >= limit {
            // In the next window the current count becomes the weighted previous one.
            let intoNext = window * (1 - Double(limit) / Double(max(counts.current, 1)))
            wait = window - elapsed + intoNext
        } else {
            let needed = window * (1 - Double(limit - counts.current) / Double(max(counts.previous, 1)))
            wait = needed - elapsed
        }
        return UInt64(max(0, wait.rounded(.up))) + 1
    }

    /// Forgets keys with no events in the last two windows, keeping memory bounded.
    public mutating func purge(now: UInt64) {
        let current = windowStart(now)
        counts = counts.filter { current < windowMilliseconds || $0.value.start >= current - windowMilliseconds }
    }

    /// How many keys are tracked.
    public var trackedKeys: Int { counts.count }

    private func windowStart(_ now: UInt64) -> UInt64 {
        now - now % windowMilliseconds
    }

    /// The key's counts moved forward to the window containing `now`.
    private func rolled(_ key: String, now: UInt64) -> Counts? {
        guard var counts = counts[key] else { return nil }
        let start = windowStart(now)
        if start == counts.start { return counts }
        if start < counts.start { return counts }  // cannot happen on a monotonic clock
        counts.previous = start - counts.start == windowMilliseconds ? counts.current : 0
        counts.current = 0
        counts.start = start
        return counts
    }

    private func estimate(_ counts: Counts, now: UInt64) -> Double {
        let window = Double(windowMilliseconds)
        let elapsed = Double(now >= counts.start ? now - counts.start : 0)
        return Double(counts.previous) * (window - elapsed) / window + Double(counts.current)
    }
}
