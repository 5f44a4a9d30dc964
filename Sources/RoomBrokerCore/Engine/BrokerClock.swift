import ChatWire

/// The two readings of time the broker needs, taken once per command or tick.
///
/// Every timeout, window and deadline uses ``monotonic``, which never jumps; ``wall`` only stamps what
/// users see (`ts` of a message, `created` of a room), so stepping the system clock changes no timer.
public struct BrokerClock: Equatable, Sendable, Codable {
    /// Milliseconds on ``MonotonicClock`` (this process's origin): for timeouts and rate-limit windows.
    public var monotonic: UInt64
    /// Milliseconds since the Unix epoch on ``WallClock``: only for `ts` and `created`.
    public var wall: UInt64

    /// A reading of both clocks.
    public init(monotonic: UInt64, wall: UInt64) {
        self.monotonic = monotonic
        self.wall = wall
    }

    /// Both clocks now.
    public static func now() -> BrokerClock {
        BrokerClock(monotonic: MonotonicClock.milliseconds(), wall: WallClock.milliseconds())
    }
}

extension BrokerClock: ExpressibleByIntegerLiteral {
    /// Both readings equal to `value` ms (for tests).
    public init(integerLiteral value: UInt64) {
        self.init(monotonic: value, wall: value)
    }
}
