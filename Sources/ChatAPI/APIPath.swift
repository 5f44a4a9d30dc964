import ChatWire

/// A request path that belongs to the HTTP API, with the routes of ``APIRequest/routes`` it matches: the one
/// place that decides whether a path is answered by the API (the gateway serves every other path from its
/// static files). `/api` and every path under `/api/` belong to the API even when no route matches (404).
public struct APIPath: Sendable {
    /// The path, without query.
    public let path: String
    /// The matching routes with their path parameters, in declaration order.
    let matches: [(route: APIRoute, parameters: [String: String])]

    /// The routes of `path` (without query) among `routes`, or `nil` when the path is not an API path.
    public init?(path: some StringProtocol, routes: [APIRoute] = APIRequest.routes) {
        let matches = routes.compactMap { route in route.parameters(of: path).map { (route, $0) } }
        guard !matches.isEmpty || path == "/api" || path.hasPrefix("/api/") else { return nil }
        self.path = String(path)
        self.matches = matches
    }

    /// The patterns of the matching routes (empty for an unknown path under `/api`).
    public var patterns: [String] {
        matches.map(\.route.pattern)
    }

    /// Whether requests to the path count against the per-address HTTP request limit: an unknown path does,
    /// a known one when any of its routes does.
    public var isRateLimited: Bool {
        matches.isEmpty || matches.contains { $0.route.isRateLimited }
    }

    /// The methods the path answers, for `Allow` headers.
    public var allowedMethods: [APIMethod] {
        let methods = Set(matches.flatMap(\.route.methods))
        return APIMethod.allCases.filter(methods.contains)
    }

    /// The route's verdict on a request head: 404 (no route), 405 (method), for state-changing methods
    /// 403 (a present `Origin` that `isAllowedOrigin` refuses) and 415 (`Content-Type` not
    /// `application/json`), then 400 (query or path segment), in that order.
    public func accept(
        method: String,
        query: some StringProtocol,
        contentType: String?,
        origin: String?,
        isAllowedOrigin: (String) -> Bool
    ) throws(APIRefusal) -> APIPendingRequest {
        guard !matches.isEmpty else { throw APIRefusal(.notFound(path: path)) }
        let allowed = allowedMethods
        guard let known = APIMethod(name: method), allowed.contains(known),
            let match = matches.first(where: { $0.route.methods.contains(known) })
        else {
            throw APIRefusal(.methodNotAllowed(method: method, allowed: allowed))
        }
        if APIMethod.isStateChanging(method) {
            if let origin, !isAllowedOrigin(origin) { throw APIRefusal(.originNotAllowed(origin: origin)) }
            guard APIRequestDecoder.isJSON(contentType: contentType) else {
                throw APIRefusal(.unsupportedMediaType(contentType: contentType))
            }
        }
        do throws(ChatError) {
            return try match.route.accept(APIHead(parameters: match.parameters, query: query))
        } catch {
            throw APIRefusal(.invalid(error))
        }
    }
}
