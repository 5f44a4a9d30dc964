import Logging
import ServiceLifecycle
import UnixSignals

/// The broker as a swift-service-lifecycle service: serves until graceful shutdown (SIGTERM/SIGINT);
/// SIGHUP reloads `--authorized-keys`.
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
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) { loop.reloadKeys() }
                }
                await loop.waitUntilStopped()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            logger.info("shutting-down")
            loop.stop()
        }
    }
}
