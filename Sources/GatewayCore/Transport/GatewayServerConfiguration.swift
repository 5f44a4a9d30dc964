import NIOCore

/// Everything a `GatewayServer` needs to know: where to listen, what to serve and the transport limits.
public struct GatewayServerConfiguration: Sendable {
    /// Host or address to bind, e.g. `"0.0.0.0"` or `"127.0.0.1"`.
    public var host: String
    /// TCP port to bind; `0` picks a free port (see `GatewayServer.port`).
    public var port: Int
    /// Directory whose files are served over HTTP (loaded into memory at start); `nil` serves nothing.
    public var staticDirectory: String?
    /// Origins allowed to open a WebSocket, e.g. `"http://chat.example:8080"` (`"*"` allows any).
    /// Empty means same origin: a request is accepted when `Origin` is absent or equals
    /// `http://<Host header>` (or `https://<Host header>`).
    public var allowedOrigins: [String]
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
    /// Answers `/api/...` and `/healthz`; `nil` answers them with 404.
    public var apiHandler: (any HTTPAPIHandler)?
    /// Makes the delegate of each new Engine.IO connection; called on the connection's event loop.
    public var makeEngineDelegate: @Sendable (EngineConnection) -> any EngineConnectionDelegate

    /// Creates a configuration; every limit has the documented production default.
    public init(
        host: String = "0.0.0.0",
        port: Int = 8080,
        staticDirectory: String? = nil,
        allowedOrigins: [String] = [],
        pingInterval: TimeAmount = .seconds(25),
        pingTimeout: TimeAmount = .seconds(20),
        maxPayload: Int = 32768,
        maxOutboundBufferedBytes: Int = 1 << 20,
        maxHTTPBodyBytes: Int = 64 * 1024,
        apiHandler: (any HTTPAPIHandler)? = nil,
        makeEngineDelegate: @escaping @Sendable (EngineConnection) -> any EngineConnectionDelegate
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
        self.apiHandler = apiHandler
        self.makeEngineDelegate = makeEngineDelegate
    }

    /// Checks the limits, throwing `GatewayServerError.invalidConfiguration` naming the bad field.
    public func validate() throws(GatewayServerError) {
        func fail(_ message: String) throws(GatewayServerError) {
            throw GatewayServerError.invalidConfiguration(message)
        }
        if !(0...65535).contains(port) { try fail("port must be 0...65535, got \(port)") }
        if pingInterval.nanoseconds <= 0 { try fail("pingInterval must be positive") }
        if pingTimeout.nanoseconds <= 0 { try fail("pingTimeout must be positive") }
        if maxPayload < 1 || maxPayload > Int(UInt32.max) { try fail("maxPayload must be 1...\(UInt32.max), got \(maxPayload)") }
        if maxOutboundBufferedBytes < 2 { try fail("maxOutboundBufferedBytes must be at least 2, got \(maxOutboundBufferedBytes)") }
        if maxHTTPBodyBytes < 0 { try fail("maxHTTPBodyBytes must not be negative, got \(maxHTTPBodyBytes)") }
    }
}
