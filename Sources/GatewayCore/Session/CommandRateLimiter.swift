import NIOCore

/// A token bucket on the monotonic clock: `burst` frames at once, refilled at `perSecond`. Keeps
/// one flooding connection from costing the others anything.
struct CommandRateLimiter {
    /// One token, in the bucket's unit: integer arithmetic keeps the refill exact.
    private static let token: Int64 = 1_000_000_000
    private let perSecond: Int64
    private let capacity: Int64
    private var level: Int64
    private var last: NIODeadline

    /// A bucket allowing `perSecond` frames on average and `burst` at once, full at `now`.
    init(perSecond: Int, burst: Int, now: NIODeadline) {
        self.perSecond = Int64(perSecond)
        self.capacity = Int64(burst) * Self.token
        self.level = capacity
        self.last = now
    }

    /// Takes one token at `now`; false when the bucket is empty. A `now` earlier than the last one
    /// adds nothing (the clock is monotonic, so that does not happen outside tests).
    mutating func allow(now: NIODeadline) -> Bool {
        if now > last {
            // A nanosecond refills `perSecond` units; a pause of 13 days or more (no overflow) fills it.
            let elapsed = (now - last).nanoseconds
            level = elapsed >= 1 << 50 ? capacity : min(capacity, level + elapsed * perSecond)
            last = now
        }
        guard level >= Self.token else { return false }
        level -= Self.token
        return true
    }

    /// When the bucket holds a whole token again, as of the last `allow(now:)`: that call's `now`
    /// if it still does, else the moment the refill completes one (at most `1 / perSecond` later).
    var nextToken: NIODeadline {
        guard level < Self.token else { return last }
        let missing = Self.token - level
        // Rounded up: at the returned moment `allow` succeeds.
        return last + .nanoseconds((missing + perSecond - 1) / perSecond)
    }
}
