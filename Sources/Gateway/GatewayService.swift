import GatewayCore
import Logging
import ServiceLifecycle

/// A gateway as a swift-service-lifecycle service: serves until graceful shutdown (SIGTERM/SIGINT).
struct GatewayService: Service {
    let server: GatewayServerConfiguration
    let broker: BrokerLinkConfiguration
    let threads: Int
    let metricsText: @Sendable () -> [UInt8]
    let logger: Logger

    func run() async throws {
        let gateway = try await ChatGateway.start(
            server: server, broker: broker, threads: threads, metricsText: metricsText, logger: logger)
        logger.info("listening", metadata: [
            "url": "http://\(server.host == "0.0.0.0" ? "127.0.0.1" : server.host):\(gateway.server.port)",
            "gateway": "\(broker.gatewayID)", "static": "\(server.staticDirectory ?? "-")",
        ])
        await withGracefulShutdownHandler {
            try? await gracefulShutdown()
        } onGracefulShutdown: {
            logger.info("shutting-down")
        }
        await gateway.shutdown()
        logger.info("stopped")
    }
}
