import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import SocketIO

/// Answers the plain HTTP requests of one connection: static files, the API delegate, and the JSON
/// errors for `/socket.io/` requests that are not (acceptable) WebSocket upgrades.
/// It is removed from the pipeline when the connection upgrades to a WebSocket.
final class HTTPServerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// What the handler needs from the server, shared by all connections.
    struct Environment: Sendable {
        var staticFiles: StaticFiles
        var apiHandler: (any HTTPAPIHandler)?
        var policy: SocketIOUpgradePolicy
        var maxBodyBytes: Int
        var logger: Logger
    }

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
        case readingAPIBody(HTTPRequestHead, path: Substring, query: Substring, body: ByteBuffer)
        /// Waiting for the API delegate.
        case waitingForAPI
        /// An answer was sent early (413) or the connection is failing: ignore the rest, the channel closes.
        case discarding
    }

    private let environment: Environment
    private let connectionID: UInt64
    private let remoteAddress: String
    private var state = State.idle
    private var keepAlive = true
    private var shuttingDown = false

    init(environment: Environment, connectionID: UInt64, remoteAddress: String) {
        self.environment = environment
        self.connectionID = connectionID
        self.remoteAddress = remoteAddress
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            receivedHead(head, context: context)
        case .body(var chunk):
            guard case .readingAPIBody(let head, let path, let query, var body) = state else { return }
            guard body.readableBytes + chunk.readableBytes <= environment.maxBodyBytes else {
                sendEarlyPayloadTooLarge(context: context)
                return
            }
            state = .discarding  // Drop our reference while appending so the buffer is not copied.
            body.writeBuffer(&chunk)
            state = .readingAPIBody(head, path: path, query: query, body: body)
        case .end:
            receivedEnd(context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is EngineChannelHandler.ShutdownEvent {
            shuttingDown = true
            keepAlive = false
            if case .idle = state {
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
                        body: ByteBuffer(bytes: ServerEventEncoder.errorObject(code: "bad_request", message: "Malformed HTTP request: \(error)."))
                    )
                )
            case .waitingForAPI, .discarding:
                state = .discarding
                context.close(promise: nil)
            }
        default:
            environment.logger.debug("HTTP connection error", metadata: ["remote": "\(remoteAddress)", "error": "\(error)"])
            state = .discarding
            context.close(promise: nil)
        }
    }

    // MARK: Requests

    private func receivedHead(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard case .idle = state else { return }
        keepAlive = head.isKeepAlive && !shuttingDown
        let (path, query) = SocketIOUpgradePolicy.splitTarget(head.uri)

        if SocketIOUpgradePolicy.isEngineIOPath(path) {
            state = .answerAtEnd(engineIOAnswer(for: head))
        } else if path == "/healthz" || path == "/metrics" || path == "/api" || path.hasPrefix("/api/") {
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > environment.maxBodyBytes {
                sendEarlyPayloadTooLarge(context: context)
                return
            }
            state = .readingAPIBody(head, path: path, query: query, body: context.channel.allocator.buffer(capacity: 0))
        } else {
            state = .answerAtEnd(staticAnswer(for: head, path: path))
        }
    }

    private func receivedEnd(context: ChannelHandlerContext) {
        switch state {
        case .answerAtEnd(let response):
            state = .idle
            writeResponse(context: context, response)
        case .readingAPIBody(let head, let path, let query, let body):
            callAPI(head: head, path: path, query: query, body: body, context: context)
        case .idle, .waitingForAPI, .discarding:
            break
        }
    }

    private func engineIOAnswer(for head: HTTPRequestHead) -> PendingResponse {
        // An acceptable upgrade only reaches this handler when it was not the connection's first request
        // or its WebSocket headers were incomplete; in both cases the client must reconnect.
        keepAlive = keepAlive && !SocketIOUpgradePolicy.isWebSocketUpgrade(head)
        let rejection = environment.policy.rejection(for: head) ?? SocketIOUpgradePolicy.Rejection(
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
        guard head.method == .GET || head.method == .HEAD else {
            var response = Self.errorResponse(.methodNotAllowed, code: "method_not_allowed", message: "Only GET and HEAD are allowed for \(path).")
            response.headers.add(name: "Allow", value: "GET, HEAD")
            return response
        }
        guard let file = environment.staticFiles.file(forRequestPath: String(path)) else {
            var response = Self.errorResponse(.notFound, code: "not_found", message: "No such file: \(path).")
            response.headOnly = head.method == .HEAD
            return response
        }
        var response = PendingResponse(status: .ok, contentType: file.contentType, body: file.body)
        response.headers.add(name: "Cache-Control", value: "no-cache")
        response.headOnly = head.method == .HEAD
        return response
    }

    private func callAPI(head: HTTPRequestHead, path: Substring, query: Substring, body: ByteBuffer, context: ChannelHandlerContext) {
        guard let apiHandler = environment.apiHandler else {
            state = .idle
            writeResponse(context: context, Self.errorResponse(.notFound, code: "not_found", message: "No API endpoint at \(path)."))
            return
        }
        state = .waitingForAPI
        let request = HTTPAPIRequest(
            method: head.method,
            path: String(path),
            query: String(query),
            headers: head.headers,
            body: body,
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
                    response = Self.errorResponse(.internalServerError, code: "internal", message: "Internal server error.")
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

    private func writeResponse(context: ChannelHandlerContext, _ response: PendingResponse) {
        guard context.channel.isActive else { return }
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Type", value: response.contentType)
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.readableBytes))
        headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        let keepAlive = self.keepAlive && !shuttingDown
        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
        if !response.headOnly, response.body.readableBytes > 0 {
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        let written = context.writeAndFlush(Self.wrapOutboundOut(.end(nil)))
        if !keepAlive {
            written.assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}
