import NIOCore

/// Answers the HTTP API: every request whose path `ChatAPI.APIPath` claims (`/healthz`, `/metrics`,
/// `/status`, `/api/...`) and that its route decoded (see `HTTPAPIRequest.decoded`).
public protocol HTTPAPIHandler: Sendable {
    /// Handles one request; the future may complete on any event loop.
    /// A failed future is answered with 500 `{"error":..,"code":"internal"}`.
    func handle(_ request: HTTPAPIRequest, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPAPIResponse>
}
