/// An event a client sends, decoded from its name and arguments (shapes only, not limits).
public enum ClientEvent: Sendable, Equatable {
    /// `create {name, room?, id?}`: make a room; `room` is nil when absent, null or empty;
    /// `id` is the optional idempotency key (nil when absent or null).
    case create(name: String, room: String?, id: String?)
    /// `join {room, password, name, since?, token?}`: become a member of a room (or resume a
    /// disconnected membership of that name); `since` is the last seq the client saw, `token` the resume
    /// token of an earlier join ack (each nil when absent or null).
    case join(room: String, password: String, name: String, since: UInt64? = nil, token: String? = nil)
    /// `leave {room}`: stop being a member of a room.
    case leave(room: String)
    /// `message {room, text, id?}`: send a message to a room; `id` is the optional idempotency key
    /// (nil when absent or null).
    case message(room: String, text: String, id: String?)
    /// `history {room, before}`: the kept messages of a room the client is in, numbered before `before`
    /// (the oldest seq it has), for paging back past its join's history.
    case history(room: String, before: UInt64)
    /// `rooms` (no argument, `{}`, or `{after?, limit?}`): one page of the rooms, sorted by name,
    /// after the room named `after` (nil: from the first), at most `limit` (nil: the default).
    case listRooms(after: String?, limit: Int?)

    /// The event names a client may emit (unknown names are refused with this list).
    public enum Name: String, CaseIterable, Sendable {
        case create, join, leave, message, rooms, history
    }

    /// Decodes an event from its name and the arguments that follow it (the ack callback is not one).
    ///
    /// Checks that the argument is one object with the required string fields. Length and
    /// alphabet limits are checked elsewhere.
    public static func decode(eventName: String, arguments: [JSONValue]) throws(ClientEventError) -> ClientEvent {
        guard let name = Name(rawValue: eventName) else { throw .unknownEvent(eventName) }
        switch name {
        case .create:
            let fields = try object(eventName, arguments)
            return .create(
                name: try string("name", in: fields, event: eventName),
                room: try optionalString("room", in: fields, event: eventName),
                id: try idempotencyKey(in: fields, event: eventName)
            )
        case .join:
            let fields = try object(eventName, arguments)
            return .join(
                room: try string("room", in: fields, event: eventName),
                password: try string("password", in: fields, event: eventName),
                name: try string("name", in: fields, event: eventName),
                since: try since(in: fields),
                token: try optionalString("token", in: fields, event: eventName)
            )
        case .leave:
            let fields = try object(eventName, arguments)
            return .leave(room: try string("room", in: fields, event: eventName))
        case .message:
            let fields = try object(eventName, arguments)
            return .message(
                room: try string("room", in: fields, event: eventName),
                text: try string("text", in: fields, event: eventName),
                id: try idempotencyKey(in: fields, event: eventName)
            )
        case .history:
            let fields = try object(eventName, arguments)
            guard let value = fields["before"], let number = value.int64Value, number >= 1, UInt64(number) <= maxSince
            else {
                throw .badRequest(
                    "The field \"before\" of the \"history\" event must be a whole number from 1 to \(maxSince) (the oldest seq you have)."
                )
            }
            return .history(room: try string("room", in: fields, event: eventName), before: UInt64(number))
        case .rooms:
            if arguments.isEmpty || arguments == [.null] { return .listRooms(after: nil, limit: nil) }
            let fields = try object(eventName, arguments)
            var limit: Int?
            if let value = fields["limit"], !value.isNull {
                guard let number = value.int64Value, let exact = Int(exactly: number) else {
                    throw .badRequest("The field \"limit\" of the \"rooms\" event must be a whole number.")
                }
                limit = exact
            }
            return .listRooms(after: try optionalString("after", in: fields, event: eventName), limit: limit)
        }
    }

    /// Largest `since` accepted: 2^53, the largest integer every JSON client represents exactly.
    public static let maxSince: UInt64 = 1 << 53

    /// The optional `since` of a join: absent or null is nil, else a whole number 0…2^53.
    private static func since(in fields: [String: JSONValue]) throws(ClientEventError) -> UInt64? {
        guard let value = fields["since"], !value.isNull else { return nil }
        guard let number = value.int64Value, number >= 0, UInt64(number) <= maxSince else {
            throw .badRequest(
                "The field \"since\" of the \"join\" event must be a whole number from 0 to \(maxSince) (the last seq you saw)."
            )
        }
        return UInt64(number)
    }

    /// The single object argument of an event.
    private static func object(
        _ event: String,
        _ arguments: [JSONValue]
    ) throws(ClientEventError) -> [String: JSONValue] {
        guard arguments.count == 1, let fields = arguments[0].objectValue else {
            throw .badRequest(
                "The \"\(event)\" event takes one argument, a JSON object (got \(arguments.count) argument(s)"
                    + (arguments.count == 1 ? " that is not an object)." : ").")
            )
        }
        return fields
    }

    private static func string(
        _ field: String,
        in fields: [String: JSONValue],
        event: String
    ) throws(ClientEventError) -> String {
        guard let value = fields[field] else {
            throw .badRequest("The \"\(event)\" event needs the field \"\(field)\" (a string).")
        }
        guard let string = value.stringValue else {
            throw .badRequest("The field \"\(field)\" of the \"\(event)\" event must be a string.")
        }
        return string
    }

    /// The optional `id` field: absent or null is nil; an empty string is kept (and refused by the
    /// key's limits, which are checked elsewhere).
    private static func idempotencyKey(
        in fields: [String: JSONValue],
        event: String
    ) throws(ClientEventError) -> String? {
        guard let value = fields["id"], !value.isNull else { return nil }
        return try string("id", in: fields, event: event)
    }

    /// A string field that may be absent, null or empty (all read as nil).
    private static func optionalString(
        _ field: String,
        in fields: [String: JSONValue],
        event: String
    ) throws(ClientEventError) -> String? {
        guard let value = fields[field], !value.isNull else { return nil }
        let string = try self.string(field, in: fields, event: event)
        return string.isEmpty ? nil : string
    }
}
