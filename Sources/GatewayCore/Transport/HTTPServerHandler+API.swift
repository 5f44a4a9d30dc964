import ChatAPI
import ChatWire
import NIOCore
import NIOHTTP1

/// API requests: the per-address rate, the route's head checks, the body limit, then the delegate.
extension HTTPServerHandler {
    /// Checks the head of a request to `path` before any of its body is read.
    func receivedAPIHead(
        _ head: HTTPRequestHead,
        path: APIPath,
        query: Substring,
        context: ChannelHandlerContext
    ) {
        let client = admission.client(of: head)
        if path.isRateLimited, !environment.limits.allowHTTPRequest(from: client) {
            state = .answerAtEnd(Self.refusal(by: .httpRequestsPerAddress, client: client, limits: environment.limits))
            return
        }
        let pending: APIPendingRequest
        do {
            pending = try path.accept(
                method: head.method.rawValue,
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
                    metadata: ["peer": "\(remoteAddress)", "origin": "\(head.headers.first(name: "origin") ?? "")"]
                )
            }
            state = .answerAtEnd(Self.response(for: error))
            return
        }
        if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > environment.maxBodyBytes
        {
            sendEarlyPayloadTooLarge(context: context)
            return
        }
        state = .readingAPIBody(head, pending, client: client, body: context.channel.allocator.buffer(capacity: 0))
    }

    /// Decodes the body of a complete request and hands the request to the delegate.
    func callAPI(
        head: HTTPRequestHead,
        pending: APIPendingRequest,
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
        let decoded: APIRequest
        do {
            decoded = try pending.request(
                authorization: head.headers.first(name: "authorization"),
                body: body.readableBytesView
            )
        } catch {
            state = .idle
            writeResponse(context: context, Self.response(for: error))
            return
        }
        state = .waitingForAPI
        let request = HTTPAPIRequest(
            decoded: decoded,
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
                        metadata: ["path": "\(path)", "error": "\(error)", "peer": "\(self.remoteAddress)"]
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

    /// Answers 413 before the body is read (or as soon as it grows past the limit) and closes.
    func sendEarlyPayloadTooLarge(context: ChannelHandlerContext) {
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
}
