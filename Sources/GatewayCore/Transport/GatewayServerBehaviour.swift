/// What a `GatewayServer` does with what it accepts, given to ``GatewayServer/start(configuration:behaviour:logger:group:)``
/// beside the ``GatewayServerConfiguration`` (where to listen and the limits): the delegate of each
/// Engine.IO connection, the HTTP API, and who hears of refusals.
public struct GatewayServerBehaviour: Sendable {
    /// Makes the delegate of each new Engine.IO connection; called on the connection's event loop.
    public var makeEngineDelegate: @Sendable (EngineConnection) -> any EngineConnectionDelegate
    /// Answers `/api/...`, `/healthz`, `/metrics` and `/status`; `nil` answers them with 404.
    public var apiHandler: (any HTTPAPIHandler)?
    /// Called each time a limit refuses something (for metrics); the server also logs it, throttled.
    public var onLimited: (@Sendable (GatewayLimit) -> Void)?

    /// A behaviour; see the properties.
    public init(
        apiHandler: (any HTTPAPIHandler)? = nil,
        onLimited: (@Sendable (GatewayLimit) -> Void)? = nil,
        makeEngineDelegate: @escaping @Sendable (EngineConnection) -> any EngineConnectionDelegate
    ) {
        self.apiHandler = apiHandler
        self.onLimited = onLimited
        self.makeEngineDelegate = makeEngineDelegate
    }
}
