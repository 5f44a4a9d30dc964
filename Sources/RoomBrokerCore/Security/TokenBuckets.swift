/// A token bucket per key on the broker's monotonic clock (ms): each key may spend `burst` tokens at
/// once and `perSecond` on average.
///
/// Part of the replicated state (a standby applies the same commands at the same clock readings, so
/// its buckets hold the same tokens): integer arithmetic only, and no clock but the `now` it is given.
/// A key whose bucket is full again is the same as an unknown one, so ``purge(now:)`` forgets it.
public struct TokenBuckets: Sendable, Codable {
    private struct Bucket: Sendable, Codable {
        /// Tokens held, in thousandths.
        var level: Int64
        /// When `level` was last brought up to date (monotonic ms).
        var updated: UInt64
    }

    /// One token, in thousandths: a millisecond refills `perSecond` of them.
    private static let token: Int64 = 1_000
    /// Tokens one key may spend at once (at least 1).
    public let burst: Int
    /// Tokens refilled per second (at least 1).
    public let perSecond: Int
    private var buckets: [String: Bucket] = [:]

    /// Buckets of `burst` tokens (at least 1) refilled at `perSecond` (at least 1), full for every key.
    public init(burst: Int, perSecond: Int) {
        self.burst = min(max(1, burst), 1 << 30)
        self.perSecond = min(max(1, perSecond), 1 << 30)
    }

    /// Takes a token from `key`'s bucket at `now`; false (nothing taken) when it holds less than one.
    public mutating func take(_ key: String, now: UInt64) -> Bool {
        var bucket = refilled(buckets[key], now: now)
        guard bucket.level >= Self.token else { return false }
        bucket.level -= Self.token
        buckets[key] = bucket
        return true
    }

    /// Milliseconds from `now` until `key`'s bucket holds a token again (0 when it does).
    public func retryAfter(_ key: String, now: UInt64) -> UInt64 {
        let missing = Self.token - refilled(buckets[key], now: now).level
        guard missing > 0 else { return 0 }
        let rate = Int64(perSecond)
        return UInt64((missing + rate - 1) / rate)
    }

    /// Forgets the keys whose bucket is full again at `now`, keeping memory bounded.
    public mutating func purge(now: UInt64) {
        let full = capacity
        buckets = buckets.filter { refilled($0.value, now: now).level < full }
    }

    /// How many keys are tracked.
    public var trackedKeys: Int { buckets.count }

    private var capacity: Int64 { Int64(burst) * Self.token }

    /// A key's `bucket` as of `now`: what it held, refilled for the time since (full when unknown: nil).
    private func refilled(_ bucket: Bucket?, now: UInt64) -> Bucket {
        guard var bucket else { return Bucket(level: capacity, updated: now) }
        // A `now` before the last one adds nothing (the clock is monotonic: not outside tests).
        guard now > bucket.updated else { return bucket }
        let elapsed = now - bucket.updated
        let room = UInt64(capacity - bucket.level)
        let (added, overflow) = elapsed.multipliedReportingOverflow(by: UInt64(perSecond))
        bucket.level = overflow || added >= room ? capacity : bucket.level + Int64(added)
        bucket.updated = now
        return bucket
    }
}
