import ChatWire
import Metrics

/// What a gateway counts, through swift-metrics: with the Prometheus back end that the `Gateway`
/// executable bootstraps they are served at `GET /metrics`; without one they cost nothing.
///
/// Make it after `MetricsSystem.bootstrap`, since metrics bind to the back end when made.
public final class GatewayMetrics: Sendable {
    /// WebSocket connections open now (also read by `/status`).
    let openConnections = ReadableMeter(label: "chat_gateway_open_connections")
    /// WebSocket connections accepted since start.
    let connections = Counter(label: "chat_gateway_connections_total")
    /// Connections closed because their outbound buffer passed its cap.
    let slowConsumerDisconnects = Counter(label: "chat_gateway_slow_consumer_disconnects_total")
    /// Connections closed because no pong came in time.
    let pingTimeouts = Counter(label: "chat_gateway_ping_timeouts_total")
    /// Room events received from the broker and fanned out.
    let broadcasts = Counter(label: "chat_gateway_broadcasts_total")
    /// Frames written to members (one per member per event).
    let deliveries = Counter(label: "chat_gateway_deliveries_total")
    /// Commands refused, by error code.
    private let refusals: [ChatErrorCode: Counter]
    /// WebSocket connections closed, by reason.
    private let closes: [CloseReason.Kind: Counter]
    /// Requests and connections refused (or closed) by a per-address or per-process limit.
    private let limits: [GatewayLimit: Counter]

    /// Metrics bound to the bootstrapped back end.
    public init() {
        var refusals: [ChatErrorCode: Counter] = [:]
        for code in ChatErrorCode.allCases {
            refusals[code] = Counter(label: "chat_gateway_refusals_total", dimensions: [("code", code.code)])
        }
        self.refusals = refusals
        var closes: [CloseReason.Kind: Counter] = [:]
        for kind in CloseReason.Kind.allCases {
            closes[kind] = Counter(label: "chat_gateway_closes_total", dimensions: [("reason", kind.rawValue)])
        }
        self.closes = closes
        var limits: [GatewayLimit: Counter] = [:]
        for limit in GatewayLimit.allCases {
            limits[limit] = Counter(label: "chat_gateway_limited_total", dimensions: [("limit", limit.rawValue)])
        }
        self.limits = limits
    }

    /// Counts one refusal answered to a client.
    func refused(_ code: ChatErrorCode) {
        refusals[code]?.increment()
    }

    /// Counts a closed connection by its reason.
    func closed(reason: CloseReason) {
        openConnections.decrement()
        closes[reason.kind]?.increment()
        switch reason {
        case .slowConsumer: slowConsumerDisconnects.increment()
        case .pingTimeout: pingTimeouts.increment()
        case .clientClosed, .idle, .messageTooLarge, .protocolError, .serverShutdown, .session, .transportClosed,
            .transportError:
            break
        }
    }

    /// Counts one refusal by a per-address or per-process limit.
    func limited(_ limit: GatewayLimit) {
        limits[limit]?.increment()
    }
}
