import ChatAPI
import NIOCore

/// Where a `GatewayServer` listens, what it serves and the transport limits (what it does with what it
/// accepts is its ``GatewayServerBehaviour``).
///
/// Every timeout runs on the event loops' monotonic clock.
public struct GatewayServerConfiguration: Sendable {
    /// Host or address to bind, e.g. `"0.0.0.0"` or `"127.0.0.1"`.
    public var host: String
    /// TCP port to bind; `0` picks a free port (see `GatewayServer.port`).
    public var port: Int
    /// Directory whose files are served over HTTP (loaded into memory at start); `nil` serves nothing.
    public var staticDirectory: String?
    /// Origins allowed to open a WebSocket, e.g. `"http://chat.example:8080"` (`"*"` allows any).
    /// Empty means same origin: a request is accepted when `Origin` is absent or equals
    /// `https://<Host header>`, or also `http://<Host header>` when the server has no `tls` (behind a
    /// TLS proxy the page's origin is https).
    public var allowedOrigins: [String]
    /// The certificate and key with which the port serves `https://` and `wss://` only; `nil` serves
    /// plain `http://` and `ws://`.
    public var tls: GatewayTLS?
    /// How often the server sends an Engine.IO ping (`pingInterval` of the open packet).
    public var pingInterval: TimeAmount
    /// How long the server waits for the pong before closing (`pingTimeout` of the open packet).
    public var pingTimeout: TimeAmount
    /// Largest inbound WebSocket message in bytes (after reassembly); larger ones close with 1009.
    public var maxPayload: Int
    /// Largest amount of outbound bytes queued for one connection; above it the connection is
    /// closed as a slow consumer.
    public var maxOutboundBufferedBytes: Int
    /// Largest HTTP request body accepted by the API; larger ones get 413.
    public var maxHTTPBodyBytes: Int
    /// How long a connection may take to send a complete HTTP request, from its accept or from the
    /// previous response on keep-alive; then it is closed.
    public var requestTimeout: TimeAmount = .seconds(10)
    /// How long a WebSocket may stay without a Socket.IO CONNECT (`40`) after its upgrade.
    public var connectTimeout: TimeAmount = .seconds(20)
    /// How long a fragmented WebSocket message may take from its first fragment to its last.
    public var fragmentTimeout: TimeAmount = .seconds(10)
    /// Proxies whose `Forwarded` / `X-Forwarded-For` headers name the client (none by default).
    public var trustedProxies = TrustedProxies()
    /// Most connections from one client address (IPv6: one /64) in this process.
    public var maxConnectionsPerAddress = 500
    /// Most connections open in this process.
    public var maxConnections = 100_000
    /// HTTP API requests per second one client address may make, on average.
    public var httpRequestsPerSecond = 10.0
    /// HTTP API requests one client address may make in a burst.
    public var httpRequestBurst = 50

    /// The defaults (listening on 127.0.0.1:8080): the Gateway command's options start from these.
    public static let defaults = GatewayServerConfiguration()

    /// Creates a configuration; every limit has the documented production default.
    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        staticDirectory: String? = nil,
        allowedOrigins: [String] = [],
        pingInterval: TimeAmount = .seconds(20),
        pingTimeout: TimeAmount = .seconds(10),
        maxPayload: Int = 32768,
        maxOutboundBufferedBytes: Int = 1 << 20,
        maxHTTPBodyBytes: Int = 64 * 1024
    ) {
        self.host = host
        self.port = port
        self.staticDirectory = staticDirectory
        self.allowedOrigins = allowedOrigins
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.maxPayload = maxPayload
        self.maxOutboundBufferedBytes = maxOutboundBufferedBytes
        self.maxHTTPBodyBytes = maxHTTPBodyBytes
    }

    /// Checks the limits, throwing `GatewayServerError.invalidConfiguration` naming the bad field.
    public func validate() throws(GatewayServerError) {
        func fail(_ message: String) throws(GatewayServerError) {
            throw GatewayServerError.invalidConfiguration(message)
        }
        if !(0...65535).contains(port) { try fail("port must be 0...65535, got \(port)") }
        if pingInterval.nanoseconds <= 0 { try fail("pingInterval must be positive") }
        if pingTimeout.nanoseconds <= 0 { try fail("pingTimeout must be positive") }
        if maxPayload < 1 || maxPayload > Int(UInt32.max) {
            try fail("maxPayload must be 1...\(UInt32.max), got \(maxPayload)")
        }
        if maxOutboundBufferedBytes < 2 {
            try fail("maxOutboundBufferedBytes must be at least 2, got \(maxOutboundBufferedBytes)")
        }
        if maxHTTPBodyBytes < 0 { try fail("maxHTTPBodyBytes must not be negative, got \(maxHTTPBodyBytes)") }
        for (name, timeout) in [
            ("requestTimeout", requestTimeout), ("connectTimeout", connectTimeout),
            ("fragmentTimeout", fragmentTimeout),
        ]
        where timeout.nanoseconds <= 0 {
            try fail("\(name) must be positive")
        }
        if maxConnectionsPerAddress < 1 {
            try fail("maxConnectionsPerAddress must be at least 1, got \(maxConnectionsPerAddress)")
        }
        if maxConnections < 1 { try fail("maxConnections must be at least 1, got \(maxConnections)") }
        if !(httpRequestsPerSecond > 0) {
            try fail("httpRequestsPerSecond must be positive, got \(httpRequestsPerSecond)")
        }
        if httpRequestBurst < 1 { try fail("httpRequestBurst must be at least 1, got \(httpRequestBurst)") }
    }
}
