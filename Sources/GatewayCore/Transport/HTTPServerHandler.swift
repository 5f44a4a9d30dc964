import ChatAPI
import ChatWire
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import SocketIO

/// Answers the plain HTTP requests of one connection: static files, the API delegate, and the JSON
/// errors for `/socket.io/` requests that are not (acceptable) WebSocket upgrades.
/// It is removed from the pipeline when the connection upgrades to a WebSocket.
///
/// Before any work a request causes: the connection must send each complete request within
/// `requestTimeout` (from its accept, or from the previous response), its client must be within the
/// per-address and per-process connection limits, and an API request within its address's request
/// rate; a state-changing API request must come from an allowed `Origin` (when it names one) and
/// declare a JSON body, or it is refused before the body is read.
final class HTTPServerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// What the handler needs from the server, shared by all connections.
    struct Environment: Sendable {
        var staticFiles: StaticFiles
        var apiHandler: (any HTTPAPIHandler)?
        var makeEngineDelegate: @Sendable (EngineConnection) -> any EngineConnectionDelegate
        var policy: SocketIOUpgradePolicy
        var maxBodyBytes: Int
        var requestTimeout: TimeAmount
        var limits: ClientLimits
        var logger: Logger
    }

    /// Headers of every static file response: the page may load only its own scripts, styles and
    /// connections, may not be framed, and sends no Referer.
    static let staticSecurityHeaders: HTTPHeaders = [
        "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    ]

    enum State {
        /// Waiting for a request head.
        case idle
        /// Reading a request whose answer is already known; it is sent at the request's end.
        case answerAtEnd(PendingResponse)
        /// Reading the body of an API request whose head its route accepted.
        case readingAPIBody(HTTPRequestHead, APIPendingRequest, client: ClientAddress, body: ByteBuffer)
        /// Waiting for the API delegate.
        case waitingForAPI
        /// An answer was sent early (413) or the connection is failing: ignore the rest, the channel closes.
        case discarding
    }

    let environment: Environment
    let connectionID: UInt64
    let remoteAddress: String
    let admission: ConnectionAdmission
    var state = State.idle
    var keepAlive = true
    var shuttingDown = false
    /// Whether a request head arrived on this connection: a drain closes an idle keep-alive connection
    /// at once but answers the first request of one it accepted just before (then closes it).
    private var hasReceivedRequest = false
    private var requestDeadline: Scheduled<Void>?

    init(environment: Environment, connectionID: UInt64, remoteAddress: String, admission: ConnectionAdmission) {
        self.environment = environment
        self.connectionID = connectionID
        self.remoteAddress = remoteAddress
        self.admission = admission
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startRequestDeadline(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startRequestDeadline(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelRequestDeadline()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelRequestDeadline()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            hasReceivedRequest = true
            receivedHead(head, context: context)
        case .body(var chunk):
            guard case .readingAPIBody(let head, let pending, let client, var body) = state else { return }
            guard body.readableBytes + chunk.readableBytes <= environment.maxBodyBytes else {
                sendEarlyPayloadTooLarge(context: context)
                return
            }
            state = .discarding  // Drop our reference while appending so the buffer is not copied.
            body.writeBuffer(&chunk)
            state = .readingAPIBody(head, pending, client: client, body: body)
        case .end:
            cancelRequestDeadline()
            receivedEnd(context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is EngineChannelHandler.ShutdownEvent {
            shuttingDown = true
            keepAlive = false
            if case .idle = state, hasReceivedRequest {
                context.close(promise: nil)
            }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case is NIOWebSocketUpgradeError:
            // The upgrader refused; the request itself follows and is answered with the reason.
            return
        case let error as HTTPParserError:
            keepAlive = false
            switch state {
            case .idle, .answerAtEnd, .readingAPIBody:
                state = .discarding
                writeResponse(
                    context: context,
                    PendingResponse(
                        status: .badRequest,
                        contentType: "application/json",
                        body: ByteBuffer(
                            bytes: ServerEventEncoder.errorObject(
                                code: "bad_request",
                                message: "Malformed HTTP request: \(error)."
                            )
                        )
                    )
                )
            case .waitingForAPI, .discarding:
                state = .discarding
                context.close(promise: nil)
            }
        default:
            environment.logger.debug(
                "HTTP connection error",
                metadata: ["peer": "\(remoteAddress)", "error": "\(error)"]
            )
            state = .discarding
            context.close(promise: nil)
        }
    }

    // MARK: Requests

    private func receivedHead(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard case .idle = state else { return }
        keepAlive = head.isKeepAlive && !shuttingDown
        if case .refused(let limit, let client) = admission.admit(head) {
            keepAlive = false
            state = .answerAtEnd(Self.refusal(by: limit, client: client, limits: environment.limits))
            return
        }
        let (path, query) = SocketIOUpgradePolicy.splitTarget(head.uri)

        if SocketIOUpgradePolicy.isEngineIOPath(path) {
            state = .answerAtEnd(engineIOAnswer(for: head))
        } else if let apiPath = APIPath(path: path) {
            receivedAPIHead(head, path: apiPath, query: query, context: context)
        } else {
            state = .answerAtEnd(staticAnswer(for: head, path: path))
        }
    }

    private func receivedEnd(context: ChannelHandlerContext) {
        switch state {
        case .answerAtEnd(let response):
            state = .idle
            writeResponse(context: context, response)
        case .readingAPIBody(let head, let pending, let client, let body):
            callAPI(head: head, pending: pending, client: client, body: body, context: context)
        case .idle, .waitingForAPI, .discarding:
            break
        }
    }

    // MARK: Request deadline

    func startRequestDeadline(context: ChannelHandlerContext) {
        cancelRequestDeadline()
        requestDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: environment.requestTimeout) { [self] in
            requestDeadline = nil
            switch state {
            case .waitingForAPI:
                return  // The request is complete; its answer restarts the deadline.
            case .idle, .discarding:
                // Nothing (complete) came: a silent or idle keep-alive connection, as browsers keep
                // them too. Closed without a report.
                break
            case .answerAtEnd, .readingAPIBody:
                // A request whose head came but whose body or end did not.
                environment.limits.reporter.limited(.requestTimeout, client: admission.peer.rateLimitKey)
            }
            state = .discarding
            context.close(promise: nil)
        }
    }

    func cancelRequestDeadline() {
        requestDeadline?.cancel()
        requestDeadline = nil
    }
}
