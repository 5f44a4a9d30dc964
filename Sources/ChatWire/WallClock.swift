import Foundation

/// The wall clock: only for the `ts` and `created` stamps users see. Timeouts use ``MonotonicClock``.
public enum WallClock {
    /// Milliseconds since the Unix epoch.
    public static func milliseconds() -> UInt64 {
        UInt64(max(0, Date().timeIntervalSince1970 * 1000))
    }
}
