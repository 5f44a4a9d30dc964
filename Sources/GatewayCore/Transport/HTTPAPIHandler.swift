import NIOCore

/// Answers the HTTP API: every request whose path is `/healthz`, `/metrics` or starts with `/api/`.
public protocol HTTPAPIHandler: Sendable {
    /// Handles one request; the future may complete on any event loop.
    /// A failed future is answered with 500 `{"error":..,"code":"internal"}`.
    func handle(_ request: HTTPAPIRequest, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPAPIResponse>
}
