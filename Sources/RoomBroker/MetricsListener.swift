import ChatWire
import Logging
import NIOHTTP1
import OperatorHTTP
import ServiceLifecycle

/// The broker's Prometheus endpoint (`--metrics HOST:PORT`): an ``OperatorListener`` (its own event loop
/// thread, never the ZeroMQ loop's; bounded connections) that answers `GET /metrics` with `text()` and
/// everything else 404 (405 for another method on `/metrics`).
struct MetricsListener: Service {
    let address: ListenAddress
    let text: @Sendable () -> [UInt8]
    let logger: Logger

    func run() async throws {
        let text = text
        let listener: OperatorListener
        do {
            listener = try await OperatorListener.start(host: address.host, port: address.port) { head in
                Self.answer(head, text: text)
            }
        } catch {
            throw MetricsListenerError(address: address, reason: "\(error)")
        }
        logger.info(
            "metrics-listening",
            metadata: ["url": "http://\(ListenAddress.describe(host: address.host, port: listener.port))/metrics"]
        )
        try? await gracefulShutdown()
        await listener.shutdown()
    }

    /// `GET /metrics` answered with `text()`; anything else refused with what this listener serves.
    static func answer(_ head: HTTPRequestHead, text: () -> [UInt8]) -> OperatorResponse {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == "/metrics" else {
            return .text(.notFound, "Not found: this listener serves GET /metrics only.\n")
        }
        guard head.method == .GET else { return .getOnly }
        return .prometheus(text())
    }
}

/// The metrics listener could not bind its address.
struct MetricsListenerError: Error, CustomStringConvertible {
    var address: ListenAddress
    var reason: String

    var description: String {
        "--metrics \(address): cannot listen there (\(reason)); give a free HOST:PORT such as 127.0.0.1:9464"
    }
}
