/// What an API request asks for, known from its head (method, path, query) before any body is read.
public enum APIEndpoint: Sendable, Equatable {
    /// `GET /healthz`
    case health
    /// `GET /metrics`
    case metrics
    /// `GET /status` or `GET /status.json`
    case status(StatusFormat)
    /// `GET /api/rooms?limit=&after=`
    case listRooms(RoomsPage)
    /// `POST /api/rooms` with a body `{name, room?, id?}`
    case createRoom
    /// `POST /api/rooms/{room}/messages` with a body `{name, text, id?}` (room validated)
    case postMessage(room: String)

    /// Whether the endpoint reads a JSON body.
    public var hasBody: Bool {
        switch self {
        case .createRoom, .postMessage: return true
        case .health, .metrics, .status, .listRooms: return false
        }
    }
}
