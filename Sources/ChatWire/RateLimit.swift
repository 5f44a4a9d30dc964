/// A limit the broker enforces; named in the log line when it refuses something (``ChatError/limit``).
public enum RateLimit: String, Sendable, Codable, CaseIterable {
    /// Wrong passwords per connection per window.
    case wrongPasswordsPerConnection = "wrong-passwords-per-connection"
    /// Wrong passwords per client address key per window.
    case wrongPasswordsPerAddress = "wrong-passwords-per-address"
    /// Rooms created per connection per window.
    case createsPerConnection = "creates-per-connection"
    /// Rooms created per client address key per window.
    case createsPerAddress = "creates-per-address"
    /// Rooms created per wider prefix of client addresses (IPv6 /56 and /48, IPv4 /24) per window.
    case createsPerNetwork = "creates-per-network"
    /// Rooms created over all clients per second (``RoomRegistryConfiguration``'s `createsPerSecond`).
    case createsInAll = "creates-in-all"
    /// Live rooms created by one client address key.
    case roomsPerAddress = "rooms-per-address"
    /// Rooms in the broker.
    case maxRooms = "max-rooms"
    /// Members in one room.
    case membersPerRoom = "members-per-room"
    /// Joins, resumes and creates per client address key (a token bucket).
    case joinsPerAddress = "joins-per-address"
}
