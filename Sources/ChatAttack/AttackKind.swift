/// The attacks ChatAttack runs, each at its own rate and from its own block of source addresses.
enum AttackKind: String, CaseIterable, Codable, Sendable {
    /// Connections that connect, join a known room under a fresh name and go (a `41` or a close),
    /// leaving a disconnected member behind for the broker's session grace.
    case ghosts
    /// Members that join and leave rooms whose histories are full of large messages, over and over.
    case joinCycles
    /// Engine.IO pings (`2`) from clients, which never need to send one, past the packet limit.
    case pings
    /// Malformed and unknown packets and events: bad JSON, unknown events, wrongly shaped arguments, noops.
    case junk
    /// `create` without a name (the server picks one), from many addresses.
    case creates

    /// The third octet of this attack's source addresses: 127.0.<block>.2 … 127.0.<block>.251.
    var addressBlock: UInt8 {
        switch self {
        case .ghosts: 1
        case .joinCycles: 2
        case .pings: 3
        case .junk: 4
        case .creates: 5
        }
    }

    /// What one attempt is, for the report.
    var unit: String {
        switch self {
        case .ghosts: "ghost (connect, join, go)"
        case .joinCycles: "join + leave on a full history"
        case .pings: "ping packet"
        case .junk: "junk packet"
        case .creates: "room creation"
        }
    }
}
