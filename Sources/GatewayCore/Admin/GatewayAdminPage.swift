import ChatAPI
import NIOCore
import NIOHTTP1

/// What the admin listener serves: the status page and the Prometheus metrics, never on the client port.
public enum GatewayAdminPage: Sendable, Equatable {
    /// `GET /status` (HTML) or `GET /status.json`.
    case status(StatusFormat)
    /// `GET /metrics` (Prometheus text).
    case metrics

    /// The page at `path` (query ignored), or nil.
    public init?(path: Substring) {
        switch path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" {
        case "/status": self = .status(.html)
        case "/status.json": self = .status(.json)
        case "/metrics": self = .metrics
        default: return nil
        }
    }

    /// `/status` (HTML: no script, nothing loaded but its own style sheet) or `/status.json`.
    static func statusResponse(_ report: GatewayStatusReport, format: StatusFormat) -> HTTPAPIResponse {
        var headers: HTTPHeaders = ["Cache-Control": "no-store"]
        switch format {
        case .json:
            return HTTPAPIResponse(status: .ok, body: ByteBuffer(bytes: GatewayStatus.json(report)), headers: headers)
        case .html:
            headers.add(name: "Content-Security-Policy", value: GatewayStatusPage.contentSecurityPolicy)
            headers.add(name: "Referrer-Policy", value: "no-referrer")
            headers.add(name: "X-Frame-Options", value: "DENY")
            var response = HTTPAPIResponse(
                status: .ok,
                body: ByteBuffer(string: GatewayStatusPage.html(report)),
                headers: headers
            )
            response.contentType = "text/html; charset=utf-8"
            return response
        }
    }

    /// The Prometheus text `metrics`.
    static func metricsResponse(_ metrics: [UInt8]) -> HTTPAPIResponse {
        var response = HTTPAPIResponse(status: .ok, body: ByteBuffer(bytes: metrics))
        response.contentType = "text/plain; version=0.0.4; charset=utf-8"
        return response
    }
}
