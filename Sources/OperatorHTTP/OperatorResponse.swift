import NIOCore
import NIOHTTP1

/// One answer of an ``OperatorListener``: a status, a content type, extra headers and the body.
public struct OperatorResponse: Sendable {
    /// The status.
    public var status: HTTPResponseStatus
    /// The body's media type.
    public var contentType: String
    /// Extra headers (`Content-Type`, `Content-Length` and `Connection: close` are set by the listener).
    public var headers: HTTPHeaders
    /// The body.
    public var body: ByteBuffer

    /// A response.
    public init(status: HTTPResponseStatus, contentType: String, headers: HTTPHeaders = [:], body: ByteBuffer) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    /// A plain-text answer, e.g. a 404 that says what the listener serves.
    public static func text(_ status: HTTPResponseStatus, _ text: String) -> OperatorResponse {
        OperatorResponse(status: status, contentType: "text/plain; charset=utf-8", body: ByteBuffer(string: text))
    }

    /// 405 with `Allow: GET`.
    public static var getOnly: OperatorResponse {
        var response = text(.methodNotAllowed, "Use GET.\n")
        response.headers.add(name: "Allow", value: "GET")
        return response
    }

    /// Prometheus text exposition.
    public static func prometheus(_ text: [UInt8]) -> OperatorResponse {
        OperatorResponse(
            status: .ok,
            contentType: "text/plain; version=0.0.4; charset=utf-8",
            body: ByteBuffer(bytes: text)
        )
    }
}
