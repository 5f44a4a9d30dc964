import ChatWire

/// One decoded HTTP API request: every field present and within its limits.
///
/// With ``routes`` below, the one place that declares the HTTP API: adding an endpoint means a case here,
/// its route in ``routes``, and its answer in the gateway's `GatewayAPI.handle`.
public enum APIRequest: Sendable, Equatable {
    /// `GET /healthz`
    case health
    /// `GET /metrics`
    case metrics
    /// `GET /status` or `GET /status.json`
    case status(StatusFormat)
    /// `GET /api/rooms?limit=&after=`
    case listRooms(RoomsPage)
    /// `POST /api/rooms`: create a room (`room` nil: the broker picks a name).
    case createRoom(name: String, room: String?, id: String?)
    /// `POST /api/rooms/{room}/messages` with the room's password from `Authorization: Bearer`.
    case postMessage(room: String, password: String, name: String, text: String, id: String?)
}

extension APIRequest {
    /// Every endpoint of the HTTP API, with how its request is decoded.
    public static let routes: [APIRoute] = [
        APIRoute(.get, "/healthz", isRateLimited: false, .head { _ in .health }),
        APIRoute(.get, "/metrics", .head { _ in .metrics }),
        APIRoute(.get, "/status", .head { _ in .status(.html) }),
        APIRoute(.get, "/status.json", .head { _ in .status(.json) }),
        APIRoute(
            .get,
            "/api/rooms",
            .head { head throws(ChatError) in .listRooms(try RoomsPage(query: head.query)) }
        ),
        APIRoute(.post, "/api/rooms", .body { _ in { body throws(ChatError) in try createRoomRequest(body) } }),
        APIRoute(
            .post,
            "/api/rooms/{room}/messages",
            .body { head throws(ChatError) in
                let room = try FieldValidator.room(head.parameter("room"))
                return { body throws(ChatError) in try postMessageRequest(room: room, body) }
            }
        ),
    ]

    /// `POST /api/rooms`: `{name, room?, id?}`.
    static func createRoomRequest(_ body: APIBody) throws(ChatError) -> APIRequest {
        let object = try body.object()
        let name = try FieldValidator.name(try APIBody.string("name", in: object))
        let room = try APIBody.optionalString("room", in: object).map { room throws(ChatError) in
            try FieldValidator.room(room)
        }
        return .createRoom(name: name, room: room, id: try APIBody.idempotencyKey(in: object))
    }

    /// `POST /api/rooms/{room}/messages`: `{name, text, id?}` with `Authorization: Bearer <password>`, checked first.
    static func postMessageRequest(room: String, _ body: APIBody) throws(ChatError) -> APIRequest {
        let password = try body.bearerToken()
        let object = try body.object()
        let name = try FieldValidator.name(try APIBody.string("name", in: object))
        let text = try FieldValidator.text(try APIBody.string("text", in: object))
        return .postMessage(
            room: room,
            password: password,
            name: name,
            text: text,
            id: try APIBody.idempotencyKey(in: object)
        )
    }
}
