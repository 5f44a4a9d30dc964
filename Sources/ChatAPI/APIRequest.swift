/// One decoded HTTP API request: every field present and within its limits.
public enum APIRequest: Sendable, Equatable {
    /// `GET /healthz`
    case health
    /// `GET /metrics`
    case metrics
    /// `GET /status` or `GET /status.json`
    case status(StatusFormat)
    /// `GET /api/rooms`
    case listRooms(RoomsPage)
    /// `POST /api/rooms`: create a room (`room` nil: the broker picks a name).
    case createRoom(name: String, room: String?, id: String?)
    /// `POST /api/rooms/{room}/messages` with the room's password from `Authorization: Bearer`.
    case postMessage(room: String, password: String, name: String, text: String, id: String?)
}
