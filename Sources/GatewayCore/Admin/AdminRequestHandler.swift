import NIOCore
import NIOHTTP1

/// Answers the one request of an admin connection with its ``GatewayAdminPage`` (404 for any other
/// path, 405 for another method than GET), then closes it; closes it anyway after `timeout`.
final class AdminRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let pages: GatewayAdminListener.Pages
    private let timeout: TimeAmount
    private var head: HTTPRequestHead?
    private var bodyBytes = 0
    private var deadline: Scheduled<Void>?

    init(pages: GatewayAdminListener.Pages, timeout: TimeAmount) {
        self.pages = pages
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let received):
            head = received
        case .body(let chunk):
            bodyBytes += chunk.readableBytes
            if bodyBytes > GatewayAdminListener.maxBodyBytes { context.close(promise: nil) }
        case .end:
            guard let head else { return }
            self.head = nil
            answer(head, context: context)
        }
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard let page = GatewayAdminPage(path: Substring(head.uri)) else {
            return respond(
                Self.text(.notFound, "Not found: this listener serves /status, /status.json and /metrics.\n"),
                head,
                context
            )
        }
        guard head.method == .GET else {
            var response = Self.text(.methodNotAllowed, "Use GET.\n")
            response.headers.add(name: "Allow", value: "GET")
            return respond(response, head, context)
        }
        switch page {
        case .metrics:
            respond(GatewayAdminPage.metricsResponse(pages.metricsText()), head, context)
        case .status(let format):
            let promise = context.eventLoop.makePromise(of: HTTPAPIResponse.self)
            let statusReport = pages.statusReport
            promise.completeWithTask { GatewayAdminPage.statusResponse(await statusReport(), format: format) }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { response in
                let (handler, context) = bound.value
                handler.respond(response, head, context)
            }
        }
    }

    private static func text(_ status: HTTPResponseStatus, _ text: String) -> HTTPAPIResponse {
        var response = HTTPAPIResponse(status: status, body: ByteBuffer(string: text))
        response.contentType = "text/plain; charset=utf-8"
        return response
    }

    private func respond(_ response: HTTPAPIResponse, _ request: HTTPRequestHead, _ context: ChannelHandlerContext) {
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Type", value: response.contentType)
        headers.replaceOrAdd(name: "Content-Length", value: "\(response.body.readableBytes)")
        headers.replaceOrAdd(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
