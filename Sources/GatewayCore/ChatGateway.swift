import Logging
import NIOCore
import NIOPosix

/// A whole gateway: the broker link, the fan-out, the event loops and the HTTP/WebSocket server,
/// wired together. The parts start and stop separately (the Gateway executable runs each as a
/// service): ``link`` (`start()` first, `stop()` after the server drained), ``startServer(configuration:metricsText:)``,
/// and ``shutdownEventLoops()`` once both are stopped.
public final class ChatGateway: Sendable {
    /// The link to the broker (not started yet).
    public let link: BrokerLink
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
    public init(
        broker: BrokerLinkConfiguration, threads: Int, fanOutWindow: TimeAmount = .zero, connectionStateRecovery: Bool = false,
        logger: Logger
    ) throws {
        let link = try BrokerLink(configuration: broker, logger: logger)
        let metrics = GatewayMetrics()
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let fanOut = BroadcastFanOut(
            group: group, metrics: metrics, coalescingWindow: fanOutWindow, appendsOffsets: connectionStateRecovery)
        let status = GatewayStatus(sources: .init(
            gatewayID: broker.gatewayID, brokerEndpoints: broker.brokers.map(\.commands),
            connections: { metrics.openConnections.value }, localRooms: { await fanOut.memberCounts() },
            askBrokers: { link.requestStatus() }))
        self.link = link
        self.metrics = metrics
        self.fanOut = fanOut
        self.status = status
        self.connectionStateRecovery = connectionStateRecovery
        link.setSink(fanOut)
        link.setStatusHandler { status.brokerAnswered($0, $1) }
        self.logger = logger
    }

    /// Binds the port and serves clients: Socket.IO sessions and the HTTP API over the link (start the
    /// link first), `/metrics` from `metricsText`. Drain it with ``GatewayServer/shutdown(gracePeriod:)``.
    public func startServer(
        configuration serverConfiguration: GatewayServerConfiguration,
        metricsText: (@Sendable () -> [UInt8])? = nil
    ) async throws -> GatewayServer {
        let link = link, fanOut = fanOut, metrics = metrics, logger = logger, recovery = connectionStateRecovery
        var configuration = serverConfiguration
        configuration.apiHandler = GatewayAPI(link: link, metricsText: metricsText, status: status)
        configuration.onLimited = { metrics.limited($0) }
        configuration.makeEngineDelegate = { connection in
            SocketIOSession(
                connection: connection, link: link, rooms: fanOut.rooms(on: connection.eventLoop), metrics: metrics, logger: logger,
                recovery: recovery)
        }
        return try await GatewayServer.start(configuration: configuration, logger: logger, group: group)
    }

    /// Shuts the event loops down: last, once the server and the link are stopped.
    public func shutdownEventLoops() async {
        try? await group.shutdownGracefully()
    }
}
