import ChatWire
import Logging
import NIOCore
import NIOPosix

/// A whole gateway: the broker link, the fan-out, the event loops and the HTTP/WebSocket server,
/// wired together. The parts start and stop separately (the Gateway executable runs each as a
/// service): ``link`` (`start()` first, `stop()` after the server drained), ``startServer(configuration:)``,
/// and ``shutdownEventLoops()`` once both are stopped.
public final class ChatGateway: Sendable {
    /// The links to the brokers, one per shard, behind the router that picks a room's (not started yet).
    public let link: ShardRouter
    /// What `/status` and `/status.json` show.
    public let status: GatewayStatus
    private let group: MultiThreadedEventLoopGroup
    private let fanOut: BroadcastFanOut
    private let metrics: GatewayMetrics
    private let logger: Logger
    /// Socket.IO connection-state recovery (docs/PROTOCOL.md).
    private let connectionStateRecovery: Bool

    /// Makes the link (without connecting it) and `threads` event loops, each writing room events at
    /// most once per `fanOutWindow` (``BroadcastFanOut/coalescingWindow``); `connectionStateRecovery`
    /// turns on Socket.IO connection-state recovery.
    public convenience init(
        broker: BrokerLinkConfiguration,
        threads: Int,
        fanOutWindow: TimeAmount = .zero,
        connectionStateRecovery: Bool = false,
        logger: Logger
    ) throws {
        try self.init(
            shards: [broker],
            threads: threads,
            fanOutWindow: fanOutWindow,
            connectionStateRecovery: connectionStateRecovery,
            logger: logger
        )
    }

    /// As above with the rooms sharded over `shards` (one broker or pair each, in shard order: docs/PROTOCOL.md,
    /// "Shards"), rooms placed with `placementKey` (`--shard-key`). Connection-state recovery needs a
    /// single shard.
    public init(
        shards: [BrokerLinkConfiguration],
        threads: Int,
        fanOutWindow: TimeAmount = .zero,
        connectionStateRecovery: Bool = false,
        placementKey: ShardKey? = nil,
        logger: Logger
    ) throws {
        guard !connectionStateRecovery || shards.count == 1 else {
            throw ShardRouter.Invalid.connectionStateRecovery(shards: shards.count)
        }
        let metrics = GatewayMetrics()
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let fanOut = BroadcastFanOut(
            group: group,
            metrics: metrics,
            coalescingWindow: fanOutWindow,
            appendsOffsets: connectionStateRecovery
        )
        let status = GatewayStatus(
            sources: .init(
                gatewayID: shards.first?.gatewayID ?? "",
                brokerEndpoints: shards.flatMap { $0.brokers.map(\.commands) },
                connections: { metrics.openConnections.value },
                localRooms: { await fanOut.memberCounts() }
            )
        )
        // The status lists every shard's brokers in shard order: broker `i` of shard `k` is number
        // (brokers of the shards before k) + i.
        let firstIndex = shards.indices.map { k in shards[..<k].reduce(0) { $0 + $1.brokers.count } }
        let shardLinks = try ShardRouter.makeLinks(shards: shards, logger: logger, sink: fanOut) { shard in
            let offset = firstIndex[shard]
            return { status.brokerAnswered(offset + $0, $1) }
        }
        self.link = ShardRouter(links: shardLinks, placementKey: placementKey)
        self.metrics = metrics
        self.fanOut = fanOut
        self.status = status
        self.connectionStateRecovery = connectionStateRecovery
        self.logger = logger
    }

    /// Binds the port and serves clients: Socket.IO sessions and the HTTP API over the link (start the
    /// link first). Drain it with ``GatewayServer/shutdown(gracePeriod:)``. The operators' pages are
    /// on ``startAdminListener(host:port:metricsText:)``, not here.
    public func startServer(configuration serverConfiguration: GatewayServerConfiguration) async throws -> GatewayServer
    {
        let link = link
        let fanOut = fanOut
        let metrics = metrics
        let logger = logger
        let recovery = connectionStateRecovery
        let behaviour = GatewayServerBehaviour(
            apiHandler: GatewayAPI(link: link),
            onLimited: { metrics.limited($0) },
            makeEngineDelegate: { connection in
                SocketIOSession(
                    connection: connection,
                    link: link,
                    rooms: fanOut.rooms(on: connection.eventLoop),
                    metrics: metrics,
                    logger: logger,
                    recovery: recovery
                )
            }
        )
        return try await GatewayServer.start(
            configuration: serverConfiguration,
            behaviour: behaviour,
            logger: logger,
            group: group
        )
    }

    /// Binds the admin listener on `host:port` (0: any free port): `/status`, `/status.json` and
    /// `/metrics` (from `metricsText`). Stop it with ``GatewayAdminListener/shutdown()``.
    public func startAdminListener(
        host: String,
        port: Int,
        metricsText: @escaping @Sendable () -> [UInt8]
    ) async throws(GatewayAdminListenerError) -> GatewayAdminListener {
        let link = link
        let status = status
        return try await GatewayAdminListener.start(
            host: host,
            port: port,
            pages: .init(
                metricsText: metricsText,
                statusReport: { await status.report(askingBrokers: { link.requestStatus() }) }
            ),
            logger: logger
        )
    }

    /// Shuts the event loops down: last, once the server and the link are stopped.
    public func shutdownEventLoops() async {
        try? await group.shutdownGracefully()
    }
}
