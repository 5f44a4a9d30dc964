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
    /// Live rooms created by one client address key.
    case roomsPerAddress = "rooms-per-address"
    /// Rooms in the broker.
    case maxRooms = "max-rooms"
    /// Members in one room.
    case membersPerRoom = "members-per-room"
    /// Joins, resumes and creates per client address key (a token bucket).
    case joinsPerAddress = "joins-per-address"
}
