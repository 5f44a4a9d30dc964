import GatewayCore
import ServiceLifecycle

/// The gateway's link to the broker as a service: connects at start; on graceful shutdown, which
/// reaches it after the HTTP server drained (the sessions have queued their members' `disconnect`s),
/// sends what is queued and closes its sockets (``BrokerLink/stop()``; with shards, every shard's link).
struct BrokerLinkService: Service {
    let link: any BrokerClient

    func run() async throws {
        do {
            try await link.start()
        } catch {
            await link.stop()
            throw error
        }
        try? await gracefulShutdown()
        await link.stop()
    }
}
