/// Decodes HTTP API requests through ``APIRequest/routes``. Plain values in, plain values out (no NIO),
/// so it can be unit-tested and fuzzed alone. The gateway makes an ``APIPath`` of the request path,
/// checks the rate limit, calls ``APIPath/accept(method:query:contentType:origin:isAllowedOrigin:)`` on the
/// head and ``APIPendingRequest/request(authorization:body:)`` once the body is in.
public enum APIRequestDecoder {
    /// Decodes a whole request at once (head checks, then body); a path outside the API is 404.
    public static func decode(
        method: String,
        path: some StringProtocol,
        query: some StringProtocol,
        contentType: String?,
        origin: String?,
        authorization: String?,
        body: some Collection<UInt8>,
        isAllowedOrigin: (String) -> Bool
    ) throws(APIRefusal) -> APIRequest {
        guard let apiPath = APIPath(path: path) else { throw APIRefusal(.notFound(path: String(path))) }
        let pending = try apiPath.accept(
            method: method,
            query: query,
            contentType: contentType,
            origin: origin,
            isAllowedOrigin: isAllowedOrigin
        )
        return try pending.request(authorization: authorization, body: body)
    }

    /// Whether a `Content-Type` value is `application/json`, parameters (e.g. `charset`) allowed.
    public static func isJSON(contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return mediaType.trimmed().lowercased() == "application/json"
    }
}
