/// A broker's state in its pair (the ZeroMQ guide's Binary Star).
public enum PairState: UInt8, Sendable, Equatable, CustomStringConvertible {
    /// Started as the primary, not yet active or passive.
    case primary = 1
    /// Started as the backup, not yet active or passive.
    case backup = 2
    /// Serves the gateways; its standby has every change it acknowledged.
    case active = 3
    /// The standby: applies the active's updates, answers gateways `not_active`.
    case passive = 4

    public var description: String {
        switch self {
        case .primary: return "primary"
        case .backup: return "backup"
        case .active: return "active"
        case .passive: return "passive"
        }
    }
}
