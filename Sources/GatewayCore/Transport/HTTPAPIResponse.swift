import ChatAPI
import NIOCore
import NIOHTTP1
import SocketIO

/// The answer to an `HTTPAPIRequest`: a status and a body (JSON unless said otherwise).
public struct HTTPAPIResponse: Sendable {
    /// The response status.
    public var status: HTTPResponseStatus
    /// The body bytes, sent with `Content-Type: contentType`.
    public var body: ByteBuffer
    /// The body's media type; `application/json` for every API answer but `/metrics`.
    public var contentType = "application/json"
    /// Extra headers, e.g. `Retry-After`; `Content-Type` and `Content-Length` are set by the server.
    public var headers: HTTPHeaders

    /// Creates a response from JSON bytes.
    public init(status: HTTPResponseStatus, body: ByteBuffer, headers: HTTPHeaders = [:]) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    /// Creates a response from JSON text.
    public init(status: HTTPResponseStatus, json: String, headers: HTTPHeaders = [:]) {
        self.init(status: status, body: ByteBuffer(string: json), headers: headers)
    }

    /// Creates the standard error response `{"error": message, "code": code}`.
    public static func error(
        _ status: HTTPResponseStatus,
        code: String,
        message: String,
        headers: HTTPHeaders = [:]
    ) -> HTTPAPIResponse {
        HTTPAPIResponse(
            status: status,
            body: ByteBuffer(bytes: ServerEventEncoder.errorObject(code: code, message: message)),
            headers: headers
        )
    }

    /// The JSON error answer to a refused API request, with `Allow` (405) or
    /// `WWW-Authenticate: Bearer` (401) where due.
    public init(refusal: APIRefusal) {
        var headers: HTTPHeaders = [:]
        if refusal.asksForAuthentication { headers.add(name: "WWW-Authenticate", value: #"Bearer realm="room""#) }
        if let allow = refusal.allowHeader { headers.add(name: "Allow", value: allow) }
        self = .error(
            HTTPResponseStatus(statusCode: refusal.status),
            code: refusal.code,
            message: refusal.message,
            headers: headers
        )
    }
}
