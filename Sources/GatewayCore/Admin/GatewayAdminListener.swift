import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The gateway's admin listener (`Gateway --admin HOST:PORT`): `GET /status`, `/status.json` and
/// `/metrics` (``GatewayAdminPage``) on an address of their own, by default on loopback, so that the
/// client port (and a proxy in front of it) never shows broker endpoints, gateway ids or room names.
/// A small HTTP/1.1 listener on one event loop thread of its own: one request per connection, at most
/// ``maxConnections`` at once, each closed after ``requestTimeout``; no authentication, so bind it to an
/// address only operators and the scraper reach.
public final class GatewayAdminListener: Sendable {
    /// How the pages are made.
    public struct Pages: Sendable {
        /// The Prometheus text of `/metrics`.
        public var metricsText: @Sendable () -> [UInt8]
        /// The report of `/status` and `/status.json`.
        public var statusReport: @Sendable () async -> GatewayStatusReport

        /// Pages from these closures.
        public init(
            metricsText: @escaping @Sendable () -> [UInt8],
            statusReport: @escaping @Sendable () async -> GatewayStatusReport
        ) {
            self.metricsText = metricsText
            self.statusReport = statusReport
        }
    }

    /// How long a connection may stay open, from its accept.
    public static let requestTimeout = TimeAmount.seconds(10)
    /// Most connections open at once; more are closed at their accept.
    public static let maxConnections = 64
    /// Most body bytes a request may carry (none is expected).
    static let maxBodyBytes = 8 << 10

    /// The bound port (the real one when 0 was asked).
    public let port: Int
    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup

    private init(port: Int, channel: any Channel, group: MultiThreadedEventLoopGroup) {
        self.port = port
        self.channel = channel
        self.group = group
    }

    /// Binds `host:port` and serves `pages`; logs `admin-listening` with the address.
    public static func start(
        host: String,
        port: Int,
        pages: Pages,
        logger: Logger
    ) async throws(GatewayAdminListenerError) -> GatewayAdminListener {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let open = OpenAdminConnections()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let count = open.count.wrappingAdd(1, ordering: .relaxed).newValue
                channel.closeFuture.whenComplete { _ in open.count.wrappingSubtract(1, ordering: .relaxed) }
                guard count <= maxConnections else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
                    try pipeline.addHandler(AdminRequestHandler(pages: pages, timeout: requestTimeout))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            try? await group.shutdownGracefully()
            throw GatewayAdminListenerError(
                host: host,
                port: port,
                reason: "\(error)",
                isAddressInUse: (error as? IOError)?.errnoCode == EADDRINUSE
            )
        }
        let bound = channel.localAddress?.port ?? port
        let shown = host.contains(":") ? "[\(host)]:\(bound)" : "\(host):\(bound)"
        logger.info("admin-listening", metadata: ["url": "http://\(shown)/status"])
        return GatewayAdminListener(port: bound, channel: channel, group: group)
    }

    /// Stops listening and closes its event loop (open requests are cut).
    public func shutdown() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// The admin listener could not bind its address.
public struct GatewayAdminListenerError: Error, CustomStringConvertible {
    /// The address asked for.
    public var host: String
    /// The port asked for.
    public var port: Int
    /// What the system said.
    public var reason: String
    /// Whether another socket holds the address (e.g. the gateway this one replaces, still draining).
    public var isAddressInUse: Bool

    public var description: String {
        "--admin \(host):\(port): cannot listen there (\(reason)); give a free HOST:PORT such as 127.0.0.1:9470, "
            + "another one for each gateway on the machine (port 0 picks a free one, logged as admin-listening)"
    }
}

/// The admin listener's connections open now.
private final class OpenAdminConnections: Sendable {
    let count = Atomic<Int>(0)
}
