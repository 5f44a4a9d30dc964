import Logging
import ServiceLifecycle

/// The broker as a swift-service-lifecycle service: serves until graceful shutdown (SIGTERM/SIGINT).
struct BrokerService: Service {
    let configuration: BrokerConfiguration
    let logger: Logger

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
