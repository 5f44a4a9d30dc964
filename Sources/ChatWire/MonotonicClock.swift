/// The clock every timeout, deadline, heartbeat and token bucket runs on: it never jumps when the
/// wall clock is stepped (NTP, VM resume), unlike ``WallClock``, which only stamps `ts` and `created`.
public enum MonotonicClock {
    private static let origin = ContinuousClock.now

    /// Milliseconds since this process first read the clock. Only differences are meaningful: two
    /// processes' readings have different origins (the broker relates them per gateway; see
    /// docs/PROTOCOL.md, "Deadlines").
    public static func milliseconds() -> UInt64 {
        let elapsed = ContinuousClock.now - origin
        let (seconds, attoseconds) = elapsed.components
        return UInt64(max(0, seconds)) &* 1000 &+ UInt64(max(0, attoseconds) / 1_000_000_000_000_000)
    }
}
