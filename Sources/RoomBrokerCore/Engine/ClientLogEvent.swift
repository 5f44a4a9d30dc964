import ChatWire

/// A log line that clients (or a confused gateway) can cause at will, as often as they like. The
/// engine writes every one through a single function, where a shared throttle can be plugged in.
public enum ClientLogEvent: Equatable, Sendable, CustomStringConvertible {
    /// A command of this kind was refused (wrong password, bad field, a limit, ...).
    case refused(CommandKind)
    /// A command frame could not be decoded.
    case badFrame
    /// Commands waited past their deadline and were dropped (one line per gateway per 10 s, counted).
    case expired
    /// A gateway the broker does not know sent a command other than hello.
    case unknownGateway

    /// The log message: `join-refused`, `bad-frame`, `expired`, `unknown-gateway`.
    public var description: String {
        switch self {
        case .refused(let kind): return "\(kind)-refused"
        case .badFrame: return "bad-frame"
        case .expired: return "expired"
        case .unknownGateway: return "unknown-gateway"
        }
    }
}
