/// The limits a gateway enforces per client address or per process; each labels
/// `chat_gateway_limited_total{limit="…"}` when it refuses something.
public enum GatewayLimit: String, Sendable, CaseIterable {
    /// More connections from one client address than `maxConnectionsPerAddress` (answered 429).
    case connectionsPerAddress = "connections_per_address"
    /// More connections open in the process than `maxConnections` (answered 503).
    case connections = "connections"
    /// More HTTP API requests from one client address than its token bucket allows (answered 429).
    case httpRequestsPerAddress = "http_requests_per_address"
    /// A request head came but not the rest of the request within `requestTimeout` (the connection is
    /// closed; silent and idle keep-alive connections are closed too, without counting here).
    case requestTimeout = "request_timeout"
}
