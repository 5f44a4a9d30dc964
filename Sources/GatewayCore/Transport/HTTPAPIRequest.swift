import ChatAPI
import ChatWire
import NIOCore
import NIOHTTP1

/// One complete HTTP API request (head and body, the body at most `maxHTTPBodyBytes`), decoded by its
/// `ChatAPI.APIRoute` (method, Origin, Content-Type, path and query, then body and `Authorization`).
public struct HTTPAPIRequest: Sendable {
    /// What the request asks for, every field validated.
    public var decoded: APIRequest
    /// The request method.
    public var method: HTTPMethod
    /// The path without the query, e.g. `/api/rooms/lobby/messages`.
    public var path: String
    /// The request headers.
    public var headers: HTTPHeaders
    /// The request body.
    public var body: ByteBuffer
    /// The client: the TCP peer, or the address a trusted proxy forwarded for.
    public var clientAddress: ClientAddress
    /// The TCP peer as `ip:port` (`[ip]:port` for IPv6), or `"unknown"`, for logs.
    public var remoteAddress: String
    /// The process-unique id of the TCP connection the request came on.
    public var connectionID: UInt64

    /// Creates a request.
    public init(
        decoded: APIRequest,
        method: HTTPMethod,
        path: String,
        headers: HTTPHeaders,
        body: ByteBuffer,
        clientAddress: ClientAddress,
        remoteAddress: String,
        connectionID: UInt64
    ) {
        self.decoded = decoded
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.clientAddress = clientAddress
        self.remoteAddress = remoteAddress
        self.connectionID = connectionID
    }
}
