#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's limit on open file descriptors (`RLIMIT_NOFILE`): every connection holds one.
public struct FileDescriptorLimit: Sendable, Equatable, CustomStringConvertible {
    /// The limit in force (the soft limit).
    public var current: UInt64
    /// The most the soft limit may be raised to without privileges (the hard limit).
    public var maximum: UInt64

    /// The limits now in force, or `nil` when `getrlimit` fails.
    public static func read() -> FileDescriptorLimit? {
        var limit = rlimit()
        guard getrlimit(resourceNumber, &limit) == 0 else { return nil }
        return FileDescriptorLimit(current: UInt64(limit.rlim_cur), maximum: UInt64(limit.rlim_max))
    }

    /// Raises the soft limit to the hard limit and returns the limits afterwards (unchanged when
    /// the raise is refused). `nil` only when the limits cannot be read.
    @discardableResult
    public static func raiseToMaximum() -> FileDescriptorLimit? {
        guard var limit = read() else { return nil }
        if limit.current < limit.maximum {
            var raised = rlimit()
            raised.rlim_cur = rlim_t(limit.maximum)
            raised.rlim_max = rlim_t(limit.maximum)
            if setrlimit(resourceNumber, &raised) == 0 {
                limit.current = limit.maximum
            }
        }
        return limit
    }

    /// `current/maximum`, with `unlimited` for the infinite value (`RLIM_INFINITY`, all bits set).
    public var description: String {
        func text(_ value: UInt64) -> String { value == UInt64.max ? "unlimited" : String(value) }
        return "\(text(current))/\(text(maximum))"
    }

    #if canImport(Glibc)
    private static let resourceNumber = __rlimit_resource_t(UInt32(RLIMIT_NOFILE.rawValue))
    #else
    private static let resourceNumber = RLIMIT_NOFILE
    #endif
}
