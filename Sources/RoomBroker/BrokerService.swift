import Logging
import ServiceLifecycle

/// The broker as a swift-service-lifecycle service: serves until graceful shutdown (SIGTERM/SIGINT).
struct BrokerService: Service, CustomStringConvertible {
    let configuration: BrokerConfiguration
    let logger: Logger

    /// What service-lifecycle logs of it (never the configuration: it holds the state read back from disk).
    var description: String {
        "BrokerService(commands: \(configuration.commandsEndpoint), broadcasts: \(configuration.broadcastsEndpoint))"
    }

    func run() async throws {
        let loop = BrokerLoop(configuration: configuration, logger: logger)
        try await loop.start()
        await withGracefulShutdownHandler {
            await loop.waitUntilStopped()
        } onGracefulShutdown: {
            logger.info("shutting-down")
            loop.stop()
        }
    }
}
