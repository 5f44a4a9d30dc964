/// How a gateway reaches the broker.
public struct BrokerLinkConfiguration: Sendable {
    /// The broker's ROUTER endpoint.
    public var commandsEndpoint: String
    /// The broker's XPUB endpoint.
    public var broadcastsEndpoint: String
    /// This gateway's routing id: unique per process (see ``BrokerLinkConfiguration/randomGatewayID()``).
    public var gatewayID: String
    /// How long a command waits for its reply before failing with `broker_unavailable`, ms. Also sent
    /// as the command's `ttl`: the broker drops a command that waited longer.
    public var requestTimeoutMilliseconds: UInt64 = 5_000
    /// How often the gateway says it is alive, ms.
    public var heartbeatMilliseconds: UInt64 = 1_000
    /// The broker counts as reachable while it answered within this many ms.
    public var healthWindowMilliseconds: UInt64 = 3_000
    /// How long stopping waits for the last commands (members' disconnects) to leave, ms.
    public var lingerMilliseconds: UInt64 = 1_000

    /// A configuration for the broker at `commandsEndpoint`/`broadcastsEndpoint`.
    public init(commandsEndpoint: String, broadcastsEndpoint: String, gatewayID: String) {
        self.commandsEndpoint = commandsEndpoint
        self.broadcastsEndpoint = broadcastsEndpoint
        self.gatewayID = gatewayID
    }

    /// A fresh gateway id: `gw-` and 128 bits from the system's CSPRNG in hex, so that a restarted
    /// gateway (same port, maybe pid 1 in a container) never takes over an earlier one's members.
    public static func randomGatewayID() -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = (0..<2).map { _ in
            let digits = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return "gw-" + hex.joined()
    }
}
