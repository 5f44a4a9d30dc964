import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OperatorHTTP

/// The gateway's admin listener (`Gateway --admin HOST:PORT`): `GET /status`, `/status.json` and
/// `/metrics` (``GatewayAdminPage``) on an address of their own, by default on loopback, so that the
/// client port (and a proxy in front of it) never shows broker endpoints, gateway ids or room names.
/// An ``OperatorListener`` (its own event loop thread, bounded connections, one request each); no
/// authentication, so bind it to an address only operators and the scraper reach.
public final class GatewayAdminListener: Sendable {
    /// How the pages are made.
    public struct Pages: Sendable {
        /// The Prometheus text of `/metrics`.
        public var metricsText: @Sendable () -> [UInt8]
        /// The report of `/status` and `/status.json`.
        public var statusReport: @Sendable () async -> GatewayStatusReport

        /// Pages from these closures.
        public init(
            metricsText: @escaping @Sendable () -> [UInt8],
            statusReport: @escaping @Sendable () async -> GatewayStatusReport
        ) {
            self.metricsText = metricsText
            self.statusReport = statusReport
        }
    }

    /// The bound port (the real one when 0 was asked).
    public var port: Int { listener.port }
    private let listener: OperatorListener

    private init(listener: OperatorListener) {
        self.listener = listener
    }

    /// Binds `host:port` and serves `pages`; logs `admin-listening` with the address.
    public static func start(
        host: String,
        port: Int,
        pages: Pages,
        logger: Logger
    ) async throws(GatewayAdminListenerError) -> GatewayAdminListener {
        let listener: OperatorListener
        do {
            listener = try await OperatorListener.start(host: host, port: port) { head in
                await GatewayAdminPage.answer(head, pages: pages)
            }
        } catch {
            throw GatewayAdminListenerError(
                host: host,
                port: port,
                reason: "\(error)",
                isAddressInUse: (error as? IOError)?.errnoCode == EADDRINUSE
            )
        }
        let shown = OperatorListener.describe(host: host, port: listener.port)
        logger.info("admin-listening", metadata: ["url": "http://\(shown)/status"])
        return GatewayAdminListener(listener: listener)
    }

    /// Stops listening and closes its event loop (open requests are cut).
    public func shutdown() async {
        await listener.shutdown()
    }
}

/// The admin listener could not bind its address.
public struct GatewayAdminListenerError: Error, CustomStringConvertible {
    /// The address asked for.
    public var host: String
    /// The port asked for.
    public var port: Int
    /// What the system said.
    public var reason: String
    /// Whether another socket holds the address (e.g. the gateway this one replaces, still draining).
    public var isAddressInUse: Bool

    public var description: String {
        "--admin \(host):\(port): cannot listen there (\(reason)); give a free HOST:PORT such as 127.0.0.1:9470, "
            + "another one for each gateway on the machine (port 0 picks a free one, logged as admin-listening)"
    }
}
