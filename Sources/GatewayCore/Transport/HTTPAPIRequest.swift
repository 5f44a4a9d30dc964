import NIOCore
import NIOHTTP1

/// One complete HTTP API request (head and body, the body at most `maxHTTPBodyBytes`).
public struct HTTPAPIRequest: Sendable {
    /// The request method.
    public var method: HTTPMethod
    /// The path without the query, e.g. `/api/rooms/lobby/messages`.
    public var path: String
    /// The raw query string without the `?` (empty when there is none).
    public var query: String
    /// The request headers.
    public var headers: HTTPHeaders
    /// The request body.
    public var body: ByteBuffer
    /// The peer as `ip:port` (`[ip]:port` for IPv6), or `"unknown"`.
    public var remoteAddress: String
    /// The process-unique id of the TCP connection the request came on.
    public var connectionID: UInt64

    /// Creates a request.
    public init(
        method: HTTPMethod,
        path: String,
        query: String,
        headers: HTTPHeaders,
        body: ByteBuffer,
        remoteAddress: String,
        connectionID: UInt64
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        self.connectionID = connectionID
    }
}
