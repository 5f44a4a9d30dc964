import ChatAPI
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

    /// A response decided before the request's end arrived.
    private struct PendingResponse {
        var status: HTTPResponseStatus
        var contentType: String
        var body: ByteBuffer
        var headers: HTTPHeaders = [:]
        var headOnly = false
    }

    private enum State {
        /// Waiting for a request head.
        case idle
        /// Reading a request whose answer is already known; it is sent at the request's end.
        case answerAtEnd(PendingResponse)
        /// Reading an API request body.
        case readingAPIBody(HTTPRequestHead, APIEndpoint, client: ClientAddress, body: ByteBuffer)
        /// Waiting for the API delegate.
        case waitingForAPI
        /// An answer was sent early (413) or the connection is failing: ignore the rest, the channel closes.
        case discarding
    }

    private let environment: Environment
    private let connectionID: UInt64
    private let remoteAddress: String
    private let admission: ConnectionAdmission
    private var state = State.idle
    private var keepAlive = true
    private var shuttingDown = false
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
            guard case .readingAPIBody(let head, let endpoint, let client, var body) = state else { return }
            guard body.readableBytes + chunk.readableBytes <= environment.maxBodyBytes else {
                sendEarlyPayloadTooLarge(context: context)
                return
            }
            state = .discarding  // Drop our reference while appending so the buffer is not copied.
            body.writeBuffer(&chunk)
            state = .readingAPIBody(head, endpoint, client: client, body: body)
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
                metadata: ["remote": "\(remoteAddress)", "error": "\(error)"]
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
        } else if let route = APIRoute(path: path) {
            let client = admission.client(of: head)
            if route.isRateLimited, !environment.limits.allowHTTPRequest(from: client) {
                state = .answerAtEnd(
                    Self.refusal(by: .httpRequestsPerAddress, client: client, limits: environment.limits)
                )
                return
            }
            let endpoint: APIEndpoint?
            do {
                endpoint = try APIRequestDecoder.endpoint(
                    method: head.method.rawValue,
                    path: path,
                    query: query,
                    contentType: head.headers.first(name: "content-type"),
                    origin: head.headers.first(name: "origin"),
                    isAllowedOrigin: { [policy = environment.policy] origin in
                        policy.isAllowed(origin: origin, host: head.headers.first(name: "host"))
                    }
                )
            } catch {
                if case .originNotAllowed = error.reason {
                    environment.logger.debug(
                        "refused API request from a foreign origin",
                        metadata: [
                            "remote": "\(remoteAddress)", "origin": "\(head.headers.first(name: "origin") ?? "")",
                        ]
                    )
                }
                state = .answerAtEnd(Self.response(for: error))
                return
            }
            guard let endpoint else { return }
            if let length = head.headers.first(name: "content-length").flatMap(Int.init),
                length > environment.maxBodyBytes
            {
                sendEarlyPayloadTooLarge(context: context)
                return
            }
            state = .readingAPIBody(head, endpoint, client: client, body: context.channel.allocator.buffer(capacity: 0))
        } else {
            state = .answerAtEnd(staticAnswer(for: head, path: path))
        }
    }

    private func receivedEnd(context: ChannelHandlerContext) {
        switch state {
        case .answerAtEnd(let response):
            state = .idle
            writeResponse(context: context, response)
        case .readingAPIBody(let head, let endpoint, let client, let body):
            callAPI(head: head, endpoint: endpoint, client: client, body: body, context: context)
        case .idle, .waitingForAPI, .discarding:
            break
        }
    }

    // MARK: Request deadline

    private func startRequestDeadline(context: ChannelHandlerContext) {
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

    private func cancelRequestDeadline() {
        requestDeadline?.cancel()
        requestDeadline = nil
    }

    private func engineIOAnswer(for head: HTTPRequestHead) -> PendingResponse {
        // An acceptable upgrade only reaches this handler when it was not the connection's first request
        // or its WebSocket headers were incomplete; in both cases the client must reconnect.
        keepAlive = keepAlive && !SocketIOUpgradePolicy.isWebSocketUpgrade(head)
        let rejection =
            environment.policy.rejection(for: head)
            ?? SocketIOUpgradePolicy.Rejection(
                status: .badRequest,
                code: "bad_handshake",
                message: "WebSocket handshake refused: send it as the first request of a new connection, with "
                    + "Connection: Upgrade, Sec-WebSocket-Key and Sec-WebSocket-Version: 13."
            )
        if rejection.isOriginRejection {
            environment.logger.notice(
                "refused WebSocket from a foreign origin",
                metadata: ["remote": "\(remoteAddress)", "origin": "\(head.headers.first(name: "origin") ?? "")"]
            )
        }
        return Self.errorResponse(rejection.status, code: rejection.code, message: rejection.message)
    }

    private func staticAnswer(for head: HTTPRequestHead, path: Substring) -> PendingResponse {
        var response: PendingResponse
        if head.method != .GET && head.method != .HEAD {
            response = Self.errorResponse(
                .methodNotAllowed,
                code: "method_not_allowed",
                message: "Only GET and HEAD are allowed for \(path)."
            )
            response.headers.add(name: "Allow", value: "GET, HEAD")
        } else if let file = environment.staticFiles.file(forRequestPath: String(path)) {
            response = PendingResponse(status: .ok, contentType: file.contentType, body: file.body)
            response.headers.add(name: "Cache-Control", value: "no-cache")
        } else {
            response = Self.errorResponse(.notFound, code: "not_found", message: "No such file: \(path).")
        }
        response.headers.add(contentsOf: Self.staticSecurityHeaders)
        response.headOnly = head.method == .HEAD
        return response
    }

    private func callAPI(
        head: HTTPRequestHead,
        endpoint: APIEndpoint,
        client: ClientAddress,
        body: ByteBuffer,
        context: ChannelHandlerContext
    ) {
        let path = SocketIOUpgradePolicy.splitTarget(head.uri).path
        guard let apiHandler = environment.apiHandler else {
            state = .idle
            writeResponse(
                context: context,
                Self.errorResponse(.notFound, code: "not_found", message: "No API endpoint at \(path).")
            )
            return
        }
        state = .waitingForAPI
        let request = HTTPAPIRequest(
            endpoint: endpoint,
            method: head.method,
            path: String(path),
            headers: head.headers,
            body: body,
            clientAddress: client,
            remoteAddress: remoteAddress,
            connectionID: connectionID
        )
        apiHandler.handle(request, on: context.eventLoop)
            .hop(to: context.eventLoop)
            .assumeIsolated()
            .whenComplete { result in
                guard case .waitingForAPI = self.state else { return }
                self.state = .idle
                let response: PendingResponse
                switch result {
                case .success(let answer):
                    response = PendingResponse(
                        status: answer.status,
                        contentType: answer.contentType,
                        body: answer.body,
                        headers: answer.headers,
                        headOnly: head.method == .HEAD
                    )
                case .failure(let error):
                    self.environment.logger.error(
                        "HTTP API handler failed",
                        metadata: ["path": "\(path)", "error": "\(error)", "remote": "\(self.remoteAddress)"]
                    )
                    response = Self.errorResponse(
                        .internalServerError,
                        code: "internal",
                        message: "Internal server error."
                    )
                }
                self.writeResponse(context: context, response)
            }
    }

    private func sendEarlyPayloadTooLarge(context: ChannelHandlerContext) {
        keepAlive = false
        state = .discarding
        writeResponse(
            context: context,
            Self.errorResponse(
                .payloadTooLarge,
                code: "payload_too_large",
                message: "Request body larger than \(environment.maxBodyBytes) bytes."
            )
        )
    }

    // MARK: Responses

    private static func errorResponse(_ status: HTTPResponseStatus, code: String, message: String) -> PendingResponse {
        PendingResponse(
            status: status,
            contentType: "application/json",
            body: ByteBuffer(bytes: ServerEventEncoder.errorObject(code: code, message: message))
        )
    }

    /// The answer to a request refused by the API decoder (404, 405, 400, 403, 415).
    private static func response(for refusal: APIRefusal) -> PendingResponse {
        let answer = HTTPAPIResponse(refusal: refusal)
        return PendingResponse(
            status: answer.status,
            contentType: answer.contentType,
            body: answer.body,
            headers: answer.headers
        )
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// The answer to a request refused by a per-address or per-process limit.
    private static func refusal(by limit: GatewayLimit, client: ClientAddress, limits: ClientLimits) -> PendingResponse
    {
        var response: PendingResponse
        switch limit {
        case .connectionsPerAddress:
            response = errorResponse(
                .tooManyRequests,
                code: "too_many_connections",
                message:
                    "Too many connections from your address (at most \(limits.connections.maxPerKey)): close some and try again."
            )
        case .connections:
            response = errorResponse(
                .serviceUnavailable,
                code: "server_busy",
                message: "The server holds as many connections as it may: try again in a minute."
            )
        case .httpRequestsPerAddress, .requestTimeout:
            response = errorResponse(
                .tooManyRequests,
                code: "rate_limited",
                message: "Too many HTTP requests from your address (at most \(limits.httpRequests.burst) at once, "
                    + "\(Self.number(limits.httpRequests.perSecond)) per second): slow down."
            )
        }
        response.headers.add(name: "Retry-After", value: limit == .httpRequestsPerAddress ? "1" : "10")
        return response
    }

    private func writeResponse(context: ChannelHandlerContext, _ response: PendingResponse) {
        guard context.channel.isActive else { return }
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Type", value: response.contentType)
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.readableBytes))
        headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        let keepAlive = self.keepAlive && !shuttingDown
        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(
            Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))),
            promise: nil
        )
        if !response.headOnly, response.body.readableBytes > 0 {
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        let written = context.writeAndFlush(Self.wrapOutboundOut(.end(nil)))
        if !keepAlive {
            cancelRequestDeadline()
            written.assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        } else if case .idle = state {
            // Keep-alive: the next request must be complete within the timeout too.
            startRequestDeadline(context: context)
        }
    }
}
