/// Every error a client can be told, with its wire byte and its JSON `code`.
public enum ChatErrorCode: UInt8, Sendable, CaseIterable {
    /// A field is missing, of the wrong type, too long or otherwise invalid.
    case badRequest = 1
    /// The Socket.IO event name is not one the server knows.
    case unknownEvent = 2
    /// No room has that name.
    case noSuchRoom = 3
    /// The password does not open that room.
    case wrongPassword = 4
    /// Another member of the room already uses that name.
    case nameInUse = 5
    /// Too many wrong passwords: wait before trying again.
    case tooManyAttempts = 6
    /// The connection is not a member of that room.
    case notMember = 7
    /// A room with that name already exists.
    case roomExists = 8
    /// The broker holds as many rooms as it is allowed to.
    case tooManyRooms = 9
    /// The gateway cannot reach the broker.
    case brokerUnavailable = 10
    /// Events the gateway asked to replay are no longer kept.
    case replayUnavailable = 11
    /// A failure inside the server.
    case internalError = 12
    /// The connection sent commands faster than allowed.
    case rateLimited = 13
    /// Only between gateway and broker: the broker does not know the gateway (it restarted, or dropped
    /// the gateway after a long silence); the gateway says hello again and resynchronises its members.
    case unknownGateway = 14
    /// Only between gateway and broker: this broker is the standby of a pair (docs/ARCHITECTURE.md,
    /// "Standby broker"); the gateway sends its commands to the other one.
    case notActive = 15
    /// The broker does not own the room: it belongs to another shard (docs/PROTOCOL.md, "Shards"). The
    /// servers are misconfigured: a gateway's broker order or `--shards` disagrees with a broker's `--shard`.
    case wrongShard = 16
    /// The broker cannot write its journal (its disk is full or failing): it refuses new rooms and
    /// messages, which it could not keep, and goes on serving joins, leaves and history.
    case storageFull = 17

    /// The stable snake_case code clients see in `{"error": ..., "code": ...}`.
    public var code: String {
        switch self {
        case .badRequest: return "bad_request"
        case .unknownEvent: return "unknown_event"
        case .noSuchRoom: return "no_such_room"
        case .wrongPassword: return "wrong_password"
        case .nameInUse: return "name_in_use"
        case .tooManyAttempts: return "too_many_attempts"
        case .notMember: return "not_member"
        case .roomExists: return "room_exists"
        case .tooManyRooms: return "too_many_rooms"
        case .brokerUnavailable: return "broker_unavailable"
        case .replayUnavailable: return "replay_unavailable"
        case .internalError: return "internal"
        case .rateLimited: return "rate_limited"
        case .unknownGateway, .notActive: return "broker_unavailable"
        case .wrongShard: return "wrong_shard"
        case .storageFull: return "storage_full"
        }
    }

    /// The HTTP status the gateway's API answers this error with.
    public var httpStatus: Int {
        switch self {
        case .badRequest, .unknownEvent: return 400
        case .wrongPassword: return 401
        case .notMember: return 403
        case .noSuchRoom: return 404
        case .nameInUse, .roomExists: return 409
        case .tooManyAttempts, .rateLimited: return 429
        case .tooManyRooms, .brokerUnavailable, .replayUnavailable, .unknownGateway, .notActive: return 503
        case .internalError, .wrongShard: return 500
        case .storageFull: return 507
        }
    }
}
