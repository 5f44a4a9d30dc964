import ChatAPI
import ChatWire
import NIOCore
import NIOHTTP1
import SocketIO

/// The answers the handler writes: static files, Engine.IO refusals, JSON errors and limits.
extension HTTPServerHandler {
    /// A response decided before the request's end arrived.
    struct PendingResponse {
        var status: HTTPResponseStatus
        var contentType: String
        var body: ByteBuffer
        var headers: HTTPHeaders = [:]
        var headOnly = false
    }

    /// The JSON refusal of a `/socket.io/` request that did not become a WebSocket.
    func engineIOAnswer(for head: HTTPRequestHead) -> PendingResponse {
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
                metadata: ["peer": "\(remoteAddress)", "origin": "\(head.headers.first(name: "origin") ?? "")"]
            )
        }
        return Self.errorResponse(rejection.status, code: rejection.code, message: rejection.message)
    }

    /// A file of `static/` (GET and HEAD only), with the security headers.
    func staticAnswer(for head: HTTPRequestHead, path: Substring) -> PendingResponse {
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

    // MARK: Responses

    /// The JSON error `{"error": message, "code": code}`.
    static func errorResponse(_ status: HTTPResponseStatus, code: String, message: String) -> PendingResponse {
        PendingResponse(
            status: status,
            contentType: "application/json",
            body: ByteBuffer(bytes: ServerEventEncoder.errorObject(code: code, message: message))
        )
    }

    /// The answer to a request refused by the API decoder (404, 405, 400, 403, 415).
    static func response(for refusal: APIRefusal) -> PendingResponse {
        let answer = HTTPAPIResponse(refusal: refusal)
        return PendingResponse(
            status: answer.status,
            contentType: answer.contentType,
            body: answer.body,
            headers: answer.headers
        )
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// The answer to a request refused by a per-address or per-process limit.
    static func refusal(by limit: GatewayLimit, client: ClientAddress, limits: ClientLimits) -> PendingResponse {
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

    /// Writes `response`; closes the connection unless kept alive, else restarts the request deadline.
    func writeResponse(context: ChannelHandlerContext, _ response: PendingResponse) {
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
