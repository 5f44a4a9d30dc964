import ChatWire
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import RoomBrokerCore
import ServiceLifecycle
import Synchronization

/// The broker's Prometheus endpoint (`--metrics HOST:PORT`): a small HTTP/1.1 listener on an event loop
/// thread of its own, never the ZeroMQ loop's. It answers `GET /metrics` with `text()` and everything
/// else 404 (405 for another method on `/metrics`), one request per connection. What a connection may
/// cost is bounded: ``maxRequestBytes`` read, ``requestTimeout`` open, ``maxConnections`` at once.
struct MetricsListener: Service {
    /// Most bytes read from one connection (a request head; bodies are not expected).
    static let maxRequestBytes = 8 << 10
    /// How long a connection may stay open, from its accept (monotonic: NIO's scheduled tasks).
    static let requestTimeout = TimeAmount.seconds(10)
    /// Most connections open at once; more are closed at their accept.
    static let maxConnections = 64

    let address: ListenAddress
    let text: @Sendable () -> [UInt8]
    let logger: Logger

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let open = OpenConnections()
        let text = text
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let count = open.count.add(1, ordering: .relaxed).newValue
                channel.closeFuture.whenComplete { _ in open.count.subtract(1, ordering: .relaxed) }
                guard count <= Self.maxConnections else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(RequestByteLimit(maxBytes: Self.maxRequestBytes))
                    try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
                    try pipeline.addHandler(MetricsRequestHandler(text: text, timeout: Self.requestTimeout))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: address.host, port: address.port).get()
        } catch {
            try? await group.shutdownGracefully()
            throw MetricsListenerError(address: address, reason: "\(error)")
        }
        let port = channel.localAddress?.port ?? address.port
        logger.info(
            "metrics-listening",
            metadata: ["url": "http://\(ListenAddress.describe(host: address.host, port: port))/metrics"]
        )
        try? await gracefulShutdown()
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// The metrics listener could not bind its address.
struct MetricsListenerError: Error, CustomStringConvertible {
    var address: ListenAddress
    var reason: String

    var description: String {
        "--metrics \(address): cannot listen there (\(reason)); give a free HOST:PORT such as 127.0.0.1:9464"
    }
}

/// The listener's connections open now.
private final class OpenConnections: Sendable {
    let count = Atomic<Int>(0)
}

/// Closes a connection that sent more than `maxBytes`: a request head larger than any scraper sends.
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
private final class MetricsRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let text: @Sendable () -> [UInt8]
    private let timeout: TimeAmount
    private var head: HTTPRequestHead?
    private var deadline: Scheduled<Void>?

    init(text: @escaping @Sendable () -> [UInt8], timeout: TimeAmount) {
        self.text = text
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
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        var headers = HTTPHeaders()
        let status: HTTPResponseStatus
        let body: [UInt8]
        if path != "/metrics" {
            status = .notFound
            body = Array("Not found: this listener serves GET /metrics only.\n".utf8)
        } else if head.method != .GET {
            status = .methodNotAllowed
            headers.add(name: "Allow", value: "GET")
            body = Array("Use GET /metrics.\n".utf8)
        } else {
            status = .ok
            body = text()
        }
        headers.add(
            name: "Content-Type",
            value: status == .ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8"
        )
        headers.add(name: "Content-Length", value: "\(body.count)")
        headers.add(name: "Connection", value: "close")
        context.write(
            Self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil
        )
        context.write(
            Self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))),
            promise: nil
        )
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
