/// The paths the HTTP API answers: the one place that decides whether a path belongs to the API
/// (the gateway serves every other path from its static files).
public enum APIRoute: Sendable, Equatable {
    /// `/healthz`
    case health
    /// `/metrics`
    case metrics
    /// `/status` (HTML) and `/status.json`: the gateway's read-only status page
    case status(StatusFormat)
    /// `/api/rooms`
    case rooms
    /// `/api/rooms/{room}/messages` (the room segment as sent, not yet validated)
    case roomMessages(room: String)
    /// Any other path under `/api`: answered 404.
    case unknown

    /// The route of `path` (without query), or `nil` when the path is not an API path.
    public init?(path: some StringProtocol) {
        let path = Substring(path)
        switch path {
        case "/healthz": self = .health
        case "/metrics": self = .metrics
        case "/status": self = .status(.html)
        case "/status.json": self = .status(.json)
        case "/api", "/api/": self = .unknown
        default:
            guard path.hasPrefix("/api/") else { return nil }
            let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            if Array(segments) == ["api", "rooms"] {
                self = .rooms
            } else if segments.count == 4, Array(segments.prefix(2)) == ["api", "rooms"], segments.last == "messages" {
                self = .roomMessages(room: String(segments[segments.startIndex + 2]))
            } else {
                self = .unknown
            }
        }
    }

    /// Whether the gateway answers `path` through the API rather than from its static files.
    public static func isAPIPath(_ path: some StringProtocol) -> Bool {
        APIRoute(path: path) != nil
    }

    /// Whether requests to the route count against the per-address HTTP request limit
    /// (everything but `/healthz`, which load balancers poll).
    public var isRateLimited: Bool {
        self != .health
    }

    /// The methods the route answers, for `Allow` headers.
    public var allowedMethods: [APIMethod] {
        switch self {
        case .health, .metrics, .status: return [.get, .head]
        case .rooms: return [.get, .head, .post]
        case .roomMessages: return [.post]
        case .unknown: return []
        }
    }
}
