import Foundation

/// The wall clock both processes stamp events and measure timeouts with.
public enum WallClock {
    /// Milliseconds since the Unix epoch.
    public static func milliseconds() -> UInt64 {
        UInt64(max(0, Date().timeIntervalSince1970 * 1000))
    }
}
