import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A small HTTP/1.1 listener for operators' pages (the broker's `--metrics`, the gateway's `--admin`) on
/// one event loop thread of its own, never a serving thread. One request per connection, answered by
/// `answer` and then closed; what a connection may cost is bounded: ``maxRequestBytes`` read,
/// ``requestTimeout`` open (from its accept, on NIO's monotonic scheduler), ``maxConnections`` at once.
/// No authentication: bind it to an address only operators and the scraper reach.
public final class OperatorListener: Sendable {
    /// What a request is answered with (its head; bodies are read and dropped).
    public typealias Answer = @Sendable (HTTPRequestHead) async -> OperatorResponse

    /// Most bytes read from one connection (a request head; bodies are not expected).
    public static let maxRequestBytes = 8 << 10
    /// How long a connection may stay open, from its accept.
    public static let requestTimeout = TimeAmount.seconds(10)
    /// Most connections open at once; more are closed at their accept.
    public static let maxConnections = 64

    /// The bound port (the real one when 0 was asked).
    public let port: Int
    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup

    private init(port: Int, channel: any Channel, group: MultiThreadedEventLoopGroup) {
        self.port = port
        self.channel = channel
        self.group = group
    }

    /// Binds `host:port` and answers each request with `answer`; throws the bind's error.
    public static func start(host: String, port: Int, answer: @escaping Answer) async throws -> OperatorListener {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let open = OpenConnections()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let count = open.count.wrappingAdd(1, ordering: .relaxed).newValue
                channel.closeFuture.whenComplete { _ in open.count.wrappingSubtract(1, ordering: .relaxed) }
                guard count <= maxConnections else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(RequestByteLimit(maxBytes: maxRequestBytes))
                    try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
                    try pipeline.addHandler(OneRequestHandler(answer: answer, timeout: requestTimeout))
                }
            }
        do {
            let channel = try await bootstrap.bind(host: host, port: port).get()
            return OperatorListener(port: channel.localAddress?.port ?? port, channel: channel, group: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Stops listening and closes its event loop (open requests are cut).
    public func shutdown() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    /// `host:port` as a URL authority (IPv6 in brackets).
    public static func describe(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// The listener's connections open now.
private final class OpenConnections: Sendable {
    let count = Atomic<Int>(0)
}

/// Closes a connection that sent more than `maxBytes`: a request larger than any operator's tool sends.
private final class RequestByteLimit: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let maxBytes: Int
    private var received = 0

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += Self.unwrapInboundIn(data).readableBytes
        guard received <= maxBytes else {
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(data)
    }
}

/// Answers the one request of a connection, then closes it; closes it anyway after `timeout`.
private final class OneRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let answer: OperatorListener.Answer
    private let timeout: TimeAmount
    private var head: HTTPRequestHead?
    private var deadline: Scheduled<Void>?

    init(answer: @escaping OperatorListener.Answer, timeout: TimeAmount) {
        self.answer = answer
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
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            let promise = context.eventLoop.makePromise(of: OperatorResponse.self)
            let answer = answer
            promise.completeWithTask { await answer(head) }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { response in
                let (handler, context) = bound.value
                handler.respond(response, to: head, context: context)
            }
        }
    }

    private func respond(_ response: OperatorResponse, to request: HTTPRequestHead, context: ChannelHandlerContext) {
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
