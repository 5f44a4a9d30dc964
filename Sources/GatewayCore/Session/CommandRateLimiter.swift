/// A token bucket: `burst` commands at once, refilled at `perSecond`. Keeps one flooding
/// connection from costing the others anything.
struct CommandRateLimiter {
    private let perSecond: Double
    private let burst: Double
    private var tokens: Double
    private var last: UInt64

    /// A bucket allowing `perSecond` commands on average and `burst` at once.
    init(perSecond: Double, burst: Double, now: UInt64) {
        self.perSecond = perSecond
        self.burst = burst
        self.tokens = burst
        self.last = now
    }

    /// Takes one token at `now` (ms); false when the bucket is empty.
    mutating func allow(now: UInt64) -> Bool {
        if now > last {
            tokens = min(burst, tokens + Double(now - last) * perSecond / 1000)
            last = now
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
