import ChatWire

/// One HTTP API endpoint, declared once in ``APIRequest/routes``: the method and path it answers,
/// whether it counts against the per-address HTTP request rate, and how its request is decoded: first
/// from the head (path parameters, query) before any body is read, then, for a route that takes a body,
/// from the body and its `Authorization` header once the body is in (at most the server's
/// `maxHTTPBodyBytes`, checked before anything is parsed).
public struct APIRoute: Sendable {
    /// Decodes the body of a request whose head was accepted.
    public typealias BodyDecoder = @Sendable (APIBody) throws(ChatError) -> APIRequest

    /// How the route's request is decoded.
    public enum Decoding: Sendable {
        /// Complete from the head; a body, if sent, is read (within the limit) and ignored.
        case head(@Sendable (APIHead) throws(ChatError) -> APIRequest)
        /// The head is checked first (a refusal is sent without reading the body), then the body is decoded.
        case body(@Sendable (APIHead) throws(ChatError) -> BodyDecoder)
    }

    /// The method answered; a `GET` route answers `HEAD` too.
    public let method: APIMethod
    /// The path, with `{name}` for a segment that becomes ``APIHead/parameters`` (as sent, not validated),
    /// e.g. `/api/rooms/{room}/messages`.
    public let pattern: String
    /// Whether requests count against the per-address HTTP request limit (all but `/healthz`, which load
    /// balancers poll).
    public let isRateLimited: Bool
    /// How the request is decoded.
    public let decoding: Decoding

    /// A route for `method` and `pattern`, decoded as `decoding` says.
    public init(_ method: APIMethod, _ pattern: String, isRateLimited: Bool = true, _ decoding: Decoding) {
        self.method = method
        self.pattern = pattern
        self.isRateLimited = isRateLimited
        self.decoding = decoding
    }

    /// The methods the route answers: its own, and `HEAD` for a `GET` route.
    public var methods: [APIMethod] {
        method == .get ? [.get, .head] : [method]
    }

    /// The `{name}` segments of `path` (without query), or `nil` when the path does not match the pattern.
    public func parameters(of path: some StringProtocol) -> [String: String]? {
        let segments = Substring(path).split(separator: "/", omittingEmptySubsequences: false)
        let expected = pattern.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count == expected.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, pattern) in zip(segments, expected) {
            if pattern.hasPrefix("{"), pattern.hasSuffix("}") {
                parameters[String(pattern.dropFirst().dropLast())] = String(segment)
            } else if segment != pattern {
                return nil
            }
        }
        return parameters
    }

    /// The request of an accepted head: complete, or waiting for the body.
    func accept(_ head: APIHead) throws(ChatError) -> APIPendingRequest {
        switch decoding {
        case .head(let decode): return APIPendingRequest(route: self, stage: .complete(try decode(head)))
        case .body(let decode): return APIPendingRequest(route: self, stage: .awaitingBody(try decode(head)))
        }
    }
}
