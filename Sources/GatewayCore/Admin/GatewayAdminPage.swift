import ChatAPI
import NIOCore
import NIOHTTP1
import OperatorHTTP

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

    /// The answer to a request of the admin listener: its page, 404 for another path (saying what is
    /// served), 405 for another method than GET.
    static func answer(_ head: HTTPRequestHead, pages: GatewayAdminListener.Pages) async -> OperatorResponse {
        guard let page = GatewayAdminPage(path: Substring(head.uri)) else {
            return .text(.notFound, "Not found: this listener serves /status, /status.json and /metrics.\n")
        }
        guard head.method == .GET else { return .getOnly }
        switch page {
        case .metrics:
            return .prometheus(pages.metricsText())
        case .status(let format):
            return statusResponse(await pages.statusReport(), format: format)
        }
    }

    /// `/status` (HTML: no script, nothing loaded but its own style sheet) or `/status.json`.
    static func statusResponse(_ report: GatewayStatusReport, format: StatusFormat) -> OperatorResponse {
        var headers: HTTPHeaders = ["Cache-Control": "no-store"]
        switch format {
        case .json:
            return OperatorResponse(
                status: .ok,
                contentType: "application/json",
                headers: headers,
                body: ByteBuffer(bytes: GatewayStatus.json(report))
            )
        case .html:
            headers.add(name: "Content-Security-Policy", value: GatewayStatusPage.contentSecurityPolicy)
            headers.add(name: "Referrer-Policy", value: "no-referrer")
            headers.add(name: "X-Frame-Options", value: "DENY")
            return OperatorResponse(
                status: .ok,
                contentType: "text/html; charset=utf-8",
                headers: headers,
                body: ByteBuffer(string: GatewayStatusPage.html(report))
            )
        }
    }
}
