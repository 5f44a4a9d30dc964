import ChatAPI
import ChatWire
import NIOCore
import NIOHTTP1
import SocketIO

/// The HTTP API of a gateway (`/api/...`, `/healthz`, `/metrics`, `/status`): the answer to each decoded
/// `ChatAPI.APIRequest` (declared with its route in `APIRequest.routes`); a room request becomes one broker
/// command, and the broker's JSON becomes the body.
public struct GatewayAPI: HTTPAPIHandler {
    private let link: any BrokerClient
    private let metricsText: (@Sendable () -> [UInt8])?
    private let status: GatewayStatus?

    /// An API that forwards to `link`, serves `metricsText()` at `GET /metrics` and `status` at
    /// `GET /status` and `/status.json` (404 when nil).
    public init(link: any BrokerClient, metricsText: (@Sendable () -> [UInt8])? = nil, status: GatewayStatus? = nil) {
        self.link = link
        self.metricsText = metricsText
        self.status = status
    }

    public func handle(_ request: HTTPAPIRequest, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPAPIResponse> {
        switch request.decoded {
        case .health:
            return eventLoop.makeSucceededFuture(
                HTTPAPIResponse(
                    status: link.isBrokerReachable ? .ok : .serviceUnavailable,
                    body: ByteBuffer(bytes: ServerEventEncoder.health(brokerReachable: link.isBrokerReachable))
                )
            )
        case .metrics:
            guard let metricsText else {
                return eventLoop.makeSucceededFuture(
                    HTTPAPIResponse(refusal: APIRefusal(.notFound(path: request.path)))
                )
            }
            var response = HTTPAPIResponse(status: .ok, body: ByteBuffer(bytes: metricsText()))
            response.contentType = "text/plain; version=0.0.4; charset=utf-8"
            return eventLoop.makeSucceededFuture(response)
        case .status(let format):
            guard let status else {
                return eventLoop.makeSucceededFuture(
                    HTTPAPIResponse(refusal: APIRefusal(.notFound(path: request.path)))
                )
            }
            let promise = eventLoop.makePromise(of: HTTPAPIResponse.self)
            let link = link
            promise.completeWithTask {
                Self.statusResponse(await status.report(askingBrokers: { link.requestStatus() }), format: format)
            }
            return promise.futureResult
        case .listRooms(let page):
            return forward(
                .listRooms(after: page.after ?? "", limit: UInt32(page.limit)),
                request,
                status: .ok,
                on: eventLoop
            )
        case .createRoom(let name, let room, let key):
            return forward(
                .create(name: name, room: room ?? "", key: key ?? ""),
                request,
                status: .created,
                on: eventLoop
            )
        case .postMessage(let room, let password, let name, let text, let key):
            return forward(
                .post(room: room, password: password, name: name, text: text, key: key ?? ""),
                request,
                status: .accepted,
                on: eventLoop
            )
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

    private func forward(
        _ body: WireCommand.Body,
        _ request: HTTPAPIRequest,
        status: HTTPResponseStatus,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<HTTPAPIResponse> {
        let promise = eventLoop.makePromise(of: HTTPAPIResponse.self)
        link.send(body, connectionID: request.connectionID, client: request.clientAddress.rateLimitKey) { result in
            switch result {
            case .success(let success):
                promise.succeed(HTTPAPIResponse(status: status, body: ByteBuffer(bytes: success.json)))
            case .failure(let error):
                promise.succeed(HTTPAPIResponse(refusal: APIRefusal(.invalid(error))))
            }
        }
        return promise.futureResult
    }
}
