/// How a gateway reaches the broker.
public struct BrokerLinkConfiguration: Sendable {
    /// The broker's ROUTER endpoint.
    public var commandsEndpoint: String
    /// The broker's PUB endpoint.
    public var broadcastsEndpoint: String
    /// This gateway's routing id: unique per process.
    public var gatewayID: String
    /// How long a command waits for its reply before failing with `broker_unavailable`, ms.
    public var requestTimeoutMilliseconds: UInt64 = 5_000
    /// How often the gateway says it is alive, ms.
    public var heartbeatMilliseconds: UInt64 = 1_000
    /// The broker counts as reachable while it answered within this many ms.
    public var healthWindowMilliseconds: UInt64 = 3_000

    /// A configuration for the broker at `commandsEndpoint`/`broadcastsEndpoint`.
    public init(commandsEndpoint: String, broadcastsEndpoint: String, gatewayID: String) {
        self.commandsEndpoint = commandsEndpoint
        self.broadcastsEndpoint = broadcastsEndpoint
        self.gatewayID = gatewayID
    }
}
