/// What an active knows of its standby.
public enum StandbyState: Sendable, Equatable, CustomStringConvertible {
    /// None heard, or it fell silent: the active acknowledges alone.
    case absent
    /// It is loading the snapshot taken after update `base`; it does not count yet.
    case syncing(base: UInt64)
    /// It has every update acknowledged so far: replies wait for its ack.
    case inSync

    public var description: String {
        switch self {
        case .absent: return "absent"
        case .syncing: return "syncing"
        case .inSync: return "in sync"
        }
    }
}
