import NIOCore

/// A token bucket on the monotonic clock: `burst` tokens at once, refilled at `perSecond` (which may
/// be fractional). Integer arithmetic keeps the refill exact; used per connection for Socket.IO
/// packets and per client address for HTTP requests.
struct TokenBucket {
    /// One token, in the bucket's unit: a nanosecond refills `perSecond × 1000` units.
    private static let token: Int64 = 1_000_000_000_000
    /// Units added per nanosecond (at least 1).
    private let rate: Int64
    private let capacity: Int64
    private var level: Int64
    private var last: NIODeadline

    /// A bucket allowing `perSecond` tokens on average (0.001 or more) and `burst` at once, full at `now`.
    init(perSecond: Double, burst: Int, now: NIODeadline) {
        self.rate = max(1, Int64((perSecond * 1000).rounded()))
        self.capacity =
            Int64(clamping: burst).multipliedReportingOverflow(by: Self.token).overflow
            ? .max : Int64(burst) * Self.token
        self.level = capacity
        self.last = now
    }

    /// Whether the bucket is full at `now` (an idle key whose bucket may be forgotten).
    func isFull(at now: NIODeadline) -> Bool {
        var copy = self
        copy.refill(now: now)
        return copy.level == capacity
    }

    /// Whether a token can be taken at `now` (refilled to `now`, nothing taken).
    mutating func hasToken(now: NIODeadline) -> Bool {
        refill(now: now)
        return level >= Self.token
    }

    /// Takes one token at `now`; false when the bucket is empty. A `now` earlier than the last one
    /// adds nothing (the clock is monotonic, so that does not happen outside tests).
    mutating func allow(now: NIODeadline) -> Bool {
        refill(now: now)
        guard level >= Self.token else { return false }
        level -= Self.token
        return true
    }

    /// When the bucket holds a whole token again, as of the last `allow(now:)`: that call's `now`
    /// if it still does, else the moment the refill completes one.
    var nextToken: NIODeadline {
        guard level < Self.token else { return last }
        let missing = Self.token - level
        // Rounded up: at the returned moment `allow` succeeds.
        return last + .nanoseconds((missing + rate - 1) / rate)
    }

    private mutating func refill(now: NIODeadline) {
        guard now > last else { return }
        let (added, overflow) = (now - last).nanoseconds.multipliedReportingOverflow(by: rate)
        level = overflow || added >= capacity - level ? capacity : level + added
        last = now
    }
}
