import NIOHTTP1

/// Decides whether a request to `/socket.io/` may become an Engine.IO WebSocket, and if not, which
/// JSON error answers it. Used both by the WebSocket upgrader and by the HTTP handler that answers
/// the refused requests, so the two always agree.
struct SocketIOUpgradePolicy: Sendable {
    /// A refusal: the HTTP status, the error code and a message that tells the client what to change.
    struct Rejection: Error, Equatable {
        var status: HTTPResponseStatus
        var code: String
        var message: String
        /// Whether the refusal is about the Origin header (logged by the server).
        var isOriginRejection: Bool = false
    }

    /// The Engine.IO endpoint path.
    static let path = "/socket.io/"

    let allowedOrigins: [String]
    /// Whether the server speaks TLS itself: then its own origin can only be `https://<Host>`.
    let isTLS: Bool

    init(allowedOrigins: [String], isTLS: Bool = false) {
        self.allowedOrigins = allowedOrigins.map { Self.trimSlash($0.lowercased()) }
        self.isTLS = isTLS
    }

    /// Whether `path` (without query) is the Engine.IO endpoint.
    static func isEngineIOPath(_ path: Substring) -> Bool {
        path == "/socket.io/" || path == "/socket.io"
    }

    /// Whether the request asks for a WebSocket upgrade.
    static func isWebSocketUpgrade(_ head: HTTPRequestHead) -> Bool {
        head.headers[canonicalForm: "upgrade"].contains { $0.lowercased() == "websocket" }
    }

    /// `nil` when the request may be upgraded, otherwise the refusal.
    func rejection(for head: HTTPRequestHead) -> Rejection? {
        let (path, query) = Self.splitTarget(head.uri)
        guard Self.isEngineIOPath(path) else {
            return Rejection(
                status: .notFound,
                code: "not_found",
                message: "No WebSocket endpoint at \(path): connect to /socket.io/."
            )
        }
        let parameters = Self.queryParameters(query)
        guard Self.isWebSocketUpgrade(head), parameters["transport"] == "websocket" else {
            return Rejection(status: .badRequest, code: "websocket_only", message: Self.websocketOnlyMessage)
        }
        guard parameters["EIO"] == "4" else {
            let got = parameters["EIO"].map { "EIO=\($0)" } ?? "no EIO parameter"
            return Rejection(
                status: .badRequest,
                code: "unsupported_protocol_version",
                message:
                    "Engine.IO protocol version 4 is required (EIO=4, Socket.IO v3/v4 clients); the request had \(got)."
            )
        }
        guard head.method == .GET else {
            return Rejection(status: .badRequest, code: "bad_request", message: "A WebSocket upgrade must use GET.")
        }
        if let origin = head.headers.first(name: "origin"),
            !isAllowed(origin: origin, host: head.headers.first(name: "host"))
        {
            return Rejection(
                status: .forbidden,
                code: "origin_not_allowed",
                message:
                    "Origin '\(origin)' is not allowed to connect: serve the page from this server or add the origin with --allowed-origin.",
                isOriginRejection: true
            )
        }
        return nil
    }

    /// The message of the `websocket_only` error (the spec's exact text).
    static let websocketOnlyMessage =
        "Only the WebSocket transport is supported: set transports: ['websocket'] in your client."

    /// Whether a present `Origin` header is acceptable.
    func isAllowed(origin: String, host: String?) -> Bool {
        let origin = Self.trimSlash(origin.lowercased())
        if allowedOrigins.isEmpty {
            guard let host = host?.lowercased() else { return false }
            return origin == "https://\(host)" || (!isTLS && origin == "http://\(host)")
        }
        return allowedOrigins.contains("*") || allowedOrigins.contains(origin)
    }

    /// Splits a request target into path and query (without `?`; fragment dropped).
    static func splitTarget(_ uri: String) -> (path: Substring, query: Substring) {
        var target = Substring(uri)
        if let hash = target.firstIndex(of: "#") { target = target[..<hash] }
        guard let mark = target.firstIndex(of: "?") else { return (target, "") }
        return (target[..<mark], target[target.index(after: mark)...])
    }

    /// `a=1&b=2` as a dictionary (first value wins, no percent-decoding: only ASCII keys are read).
    static func queryParameters(_ query: Substring) -> [Substring: Substring] {
        var result: [Substring: Substring] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0]
            if result[key] == nil {
                result[key] = parts.count > 1 ? parts[1] : ""
            }
        }
        return result
    }

    private static func trimSlash(_ origin: String) -> String {
        origin.hasSuffix("/") ? String(origin.dropLast()) : origin
    }
}
