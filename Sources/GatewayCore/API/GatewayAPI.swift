import ChatAPI
import ChatWire
import NIOCore
import NIOHTTP1
import SocketIO

/// The HTTP API of a gateway on its client port (`/api/...`, `/healthz`): the answer to each decoded
/// `ChatAPI.APIRequest` (declared with its route in `APIRequest.routes`); a room request becomes one broker
/// command, and the broker's JSON becomes the body. `/metrics`, `/status` and `/status.json` answer 404
/// here: they are served by the ``GatewayAdminListener`` only.
public struct GatewayAPI: HTTPAPIHandler {
    private let link: any BrokerClient

    /// An API that forwards to `link`.
    public init(link: any BrokerClient) {
        self.link = link
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
        case .metrics, .status:
            // Operators' pages: on the admin listener, never on the port the clients (and a proxy) reach.
            return eventLoop.makeSucceededFuture(HTTPAPIResponse(refusal: APIRefusal(.notFound(path: request.path))))
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
