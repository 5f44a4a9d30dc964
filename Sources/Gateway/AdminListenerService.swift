import ChatWire
import GatewayCore
import Logging
import ServiceLifecycle

/// The admin listener (`--admin`) as a service. When its address is taken (by the gateway this one
/// replaces in a rolling restart, which frees it when it starts draining) it logs `admin-address-busy`
/// once and tries again every ``retryInterval`` until it gets it; any other bind error stops the gateway.
struct AdminListenerService: Service {
    /// How often a busy admin address is tried again.
    static let retryInterval = Duration.milliseconds(250)

    let address: ListenAddress
    let gateway: ChatGateway
    let metricsText: @Sendable () -> [UInt8]
    let logger: Logger

    func run() async throws {
        guard let listener = try await bind() else { return }
        try? await gracefulShutdown()
        await listener.shutdown()
    }

    /// The bound listener, or nil when the gateway shut down while the address was busy.
    private func bind() async throws -> GatewayAdminListener? {
        var warned = false
        while true {
            do {
                return try await gateway.startAdminListener(
                    host: address.host,
                    port: address.port,
                    metricsText: metricsText
                )
            } catch {
                guard error.isAddressInUse else { throw error }
                if !warned {
                    logger.warning(
                        "admin-address-busy",
                        metadata: ["admin": "\(address)", "reason": "another process listens there; retrying"]
                    )
                    warned = true
                }
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.retryInterval) }
            } catch {
                return nil
            }
        }
    }
}
