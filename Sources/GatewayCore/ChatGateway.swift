import Logging
import NIOCore
import NIOPosix

/// A whole gateway: the broker link, the fan-out and the HTTP/WebSocket server, wired together.
public final class ChatGateway: Sendable {
    /// The running HTTP/WebSocket server.
    public let server: GatewayServer
    /// The link to the broker.
    public let link: BrokerLink
    private let group: MultiThreadedEventLoopGroup

    private init(server: GatewayServer, link: BrokerLink, group: MultiThreadedEventLoopGroup) {
        self.server = server
        self.link = link
        self.group = group
    }

    /// Connects to the broker and starts serving with `threads` event loops; `connectionStateRecovery`
    /// turns on Socket.IO connection-state recovery (docs/PROTOCOL.md). With `listenOnceBrokerAnswers`
    /// the port is bound only after the broker answered (polled every 50 ms; cancellable), so a gateway
    /// that joins a shared port never answers clients it cannot serve yet.
    public static func start(
        server serverConfiguration: GatewayServerConfiguration,
        broker brokerConfiguration: BrokerLinkConfiguration,
        threads: Int,
        listenOnceBrokerAnswers: Bool = false,
        connectionStateRecovery: Bool = false,
        metricsText: (@Sendable () -> [UInt8])? = nil,
        logger: Logger
    ) async throws -> ChatGateway {
        let metrics = GatewayMetrics()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let link = try BrokerLink(configuration: brokerConfiguration, logger: logger)
        let fanOut = BroadcastFanOut(group: group, metrics: metrics, appendsOffsets: connectionStateRecovery)
        link.setSink(fanOut)
        do {
            try await link.start()
            while listenOnceBrokerAnswers, !link.isBrokerReachable {
                try await Task.sleep(for: .milliseconds(50))
            }
            var configuration = serverConfiguration
            configuration.apiHandler = GatewayAPI(link: link, metricsText: metricsText)
            configuration.onLimited = { metrics.limited($0) }
            configuration.makeEngineDelegate = { connection in
                SocketIOSession(
                    connection: connection, link: link, rooms: fanOut.rooms(on: connection.eventLoop), metrics: metrics, logger: logger,
                    recovery: connectionStateRecovery)
            }
            let server = try await GatewayServer.start(configuration: configuration, logger: logger, group: group)
            return ChatGateway(server: server, link: link, group: group)
        } catch {
            await link.stop()
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Drains: stops accepting, closes every connection (WebSocket close 1001 "server restarting:
    /// reconnect"), whose sessions queue their members' `disconnect`s; then stops the broker link, which
    /// sends those before its DEALER closes (with linger), and the event loops.
    public func shutdown() async {
        try? await server.shutdown()
        await link.stop()
        try? await group.shutdownGracefully()
    }
}
