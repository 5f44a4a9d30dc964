import Dispatch
import Foundation
import GatewayCore
import Logging
import ServiceLifecycle

/// A gateway as a swift-service-lifecycle service: serves until graceful shutdown (SIGTERM/SIGINT),
/// then drains (see ``ChatGateway/shutdown()``) and exits within ``drainDeadline`` at the latest.
struct GatewayService: Service {
    /// Longest a drain may take before the process exits anyway (clients that do not answer).
    static let drainDeadline = DispatchTimeInterval.seconds(9)

    let server: GatewayServerConfiguration
    let broker: BrokerLinkConfiguration
    let threads: Int
    /// Bind the port only once the broker answered (`--listen-once-broker-answers`).
    let listenOnceBrokerAnswers: Bool
    /// Socket.IO connection-state recovery (`--connection-state-recovery`).
    var connectionStateRecovery = false
    let metricsText: @Sendable () -> [UInt8]
    /// Written once the gateway listens and the broker answered it (`--ready-file`).
    let readyFile: ReadyFile?
    let logger: Logger

    func run() async throws {
        let gateway: ChatGateway
        do {
            gateway = try await cancelWhenGracefulShutdown {
                try await ChatGateway.start(
                    server: server, broker: broker, threads: threads, listenOnceBrokerAnswers: listenOnceBrokerAnswers,
                    connectionStateRecovery: connectionStateRecovery, metricsText: metricsText, logger: logger)
            }
        } catch is CancellationError {
            logger.info("stopped", metadata: ["reason": "shut down before the broker answered"])
            return
        }
        logger.info("listening", metadata: [
            "url": "http://\(server.host == "0.0.0.0" ? "127.0.0.1" : server.host):\(gateway.server.port)",
            "gateway": "\(broker.gatewayID)", "static": "\(server.staticDirectory ?? "-")",
        ])
        let announce = readyFile.map { file in
            Task { [logger] in await file.write(whenReady: { gateway.link.isBrokerReachable }, logger: logger) }
        }
        await withGracefulShutdownHandler {
            try? await gracefulShutdown()
        } onGracefulShutdown: {
            logger.info("shutting-down")
        }
        announce?.cancel()
        readyFile?.remove()
        Self.exitAfterDrainDeadline(logger: logger)
        await gateway.shutdown()
        logger.info("stopped")
    }

    /// Ends the process if the drain has not finished by ``drainDeadline`` (monotonic: `DispatchTime`).
    private static func exitAfterDrainDeadline(logger: Logger) {
        DispatchQueue.global().asyncAfter(deadline: .now() + drainDeadline) {
            logger.error("drain-timeout", metadata: ["reason": "the drain did not finish in time; exiting anyway"])
            exit(1)
        }
    }
}
