/// Counts events per key in fixed time windows and says when a key has had too many.
///
/// Used for wrong passwords (per connection and per room) and for room creation floods.
public struct AttemptLimiter: Sendable {
    private struct Window: Sendable {
        var start: UInt64
        var count: Int
    }

    /// Events allowed per key in one window.
    public let limit: Int
    /// Window length in milliseconds.
    public let windowMilliseconds: UInt64
    private var windows: [String: Window] = [:]

    /// A limiter allowing `limit` events per key every `windowMilliseconds`.
    public init(limit: Int, windowMilliseconds: UInt64) {
        self.limit = limit
        self.windowMilliseconds = windowMilliseconds
    }

    /// Whether `key` has used up its events in the window that contains `now`.
    public func isBlocked(_ key: String, now: UInt64) -> Bool {
        guard let window = windows[key], now &- window.start < windowMilliseconds else { return false }
        return window.count >= limit
    }

    /// Counts one event for `key` at `now`.
    public mutating func record(_ key: String, now: UInt64) {
        if var window = windows[key], now &- window.start < windowMilliseconds {
            window.count += 1
            windows[key] = window
        } else {
            windows[key] = Window(start: now, count: 1)
        }
    }

    /// Milliseconds until `key` may try again (0 when not blocked).
    public func retryAfter(_ key: String, now: UInt64) -> UInt64 {
        guard isBlocked(key, now: now), let window = windows[key] else { return 0 }
        return window.start + windowMilliseconds - now
    }

    /// Forgets windows that ended before `now`, keeping memory bounded.
    public mutating func purge(now: UInt64) {
        windows = windows.filter { now &- $0.value.start < windowMilliseconds }
    }

    /// How many keys are tracked.
    public var trackedKeys: Int { windows.count }
}
