import GatewayCore
import Logging
import ServiceLifecycle
import Synchronization

/// The HTTP/WebSocket server as a service. With `listenOnceBrokerAnswers` it binds the port only once
/// the broker answered (a graceful shutdown before that ends it without listening). On graceful
/// shutdown it drains (``GatewayServer/shutdown(gracePeriod:)``): it stops accepting, closes every
/// WebSocket with 1001 "server restarting: reconnect" and waits up to 2 s for them.
final class HTTPServerService: Service, Sendable {
    /// How often the broker's answer is checked while waiting for it.
    static let brokerPollInterval = Duration.milliseconds(50)

    private let gateway: ChatGateway
    private let gatewayID: String
    private let configuration: GatewayServerConfiguration
    private let listenOnceBrokerAnswers: Bool
    private let logger: Logger
    private let listening = Atomic<Bool>(false)

    init(
        gateway: ChatGateway,
        gatewayID: String,
        configuration: GatewayServerConfiguration,
        listenOnceBrokerAnswers: Bool,
        logger: Logger
    ) {
        self.gateway = gateway
        self.gatewayID = gatewayID
        self.configuration = configuration
        self.listenOnceBrokerAnswers = listenOnceBrokerAnswers
        self.logger = logger
    }

    /// Whether the port is bound and the server takes clients (until its drain starts).
    var isListening: Bool { listening.load(ordering: .acquiring) }

    func run() async throws {
        if listenOnceBrokerAnswers {
            do {
                try await cancelWhenGracefulShutdown { [gateway] in
                    while !gateway.link.isBrokerReachable { try await Task.sleep(for: Self.brokerPollInterval) }
                }
            } catch is CancellationError {
                logger.info("not-listening", metadata: ["reason": "shut down before the broker answered"])
                return
            }
        }
        let server = try await gateway.startServer(configuration: configuration)
        listening.store(true, ordering: .releasing)
        logger.info(
            "listening",
            metadata: [
                "url":
                    "\(configuration.tls == nil ? "http" : "https")://\(configuration.host == "0.0.0.0" ? "127.0.0.1" : configuration.host):\(server.port)",
                "gateway": "\(gatewayID)", "static": "\(configuration.staticDirectory ?? "-")",
            ]
        )
        try? await gracefulShutdown()
        listening.store(false, ordering: .releasing)
        try? await server.shutdown()
    }
}
