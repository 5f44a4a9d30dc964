import NIOCore

/// Answers the HTTP API: every request whose path `ChatAPI.APIRoute` claims (`/healthz`, `/metrics`,
/// `/api/...`) and whose head the server already accepted (see `HTTPAPIRequest.endpoint`).
public protocol HTTPAPIHandler: Sendable {
    /// Handles one request; the future may complete on any event loop.
    /// A failed future is answered with 500 `{"error":..,"code":"internal"}`.
    func handle(_ request: HTTPAPIRequest, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPAPIResponse>
}
