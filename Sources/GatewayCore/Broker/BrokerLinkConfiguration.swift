import ZeroMQ

/// How a gateway reaches the broker: one broker, or the two brokers of an active/standby pair.
public struct BrokerLinkConfiguration: Sendable {
    /// A broker list the link cannot use.
    public enum Invalid: Error, Equatable, CustomStringConvertible {
        /// Only 1 or 2 brokers are supported (one broker, or an active/standby pair).
        case brokerCount(Int)

        public var description: String {
            switch self {
            case .brokerCount(let count):
                return "give 1 broker, or the 2 brokers of a pair, not \(count)"
            }
        }
    }

    /// The most brokers a gateway follows (one pair).
    public static let maxBrokers = 2

    /// The brokers, 1 or 2; with 2 the link follows whichever is active (``BrokerLinkState``).
    public private(set) var brokers: [BrokerEndpoints]
    /// This gateway's routing id: unique per process (see ``BrokerLinkConfiguration/randomGatewayID()``).
    public var gatewayID: String
    /// How long a command waits for its reply before failing with `broker_unavailable`, ms. Also sent
    /// as the command's `ttl`: the broker drops a command that waited longer.
    public var requestTimeoutMilliseconds: UInt64 = 5_000
    /// How often the gateway says it is alive, ms: 250, so that the broker can tell a dead gateway
    /// after 1 s (four missed heartbeats) and let its members be taken over (docs/ARCHITECTURE.md, Sessions),
    /// and a pair's standby is voted for quickly.
    public var heartbeatMilliseconds: UInt64 = 250
    /// With a pair: how long the followed broker may stay silent before the link fails over, ms.
    public var failoverAfterMilliseconds: UInt64 = 1_000
    /// The broker counts as reachable while it answered within this many ms.
    public var healthWindowMilliseconds: UInt64 = 3_000
    /// How long stopping waits for the last commands (members' disconnects) to leave, ms.
    public var lingerMilliseconds: UInt64 = 1_000
    /// With a pair: the start of the idempotency keys the link gives `create`, `message` and `post`
    /// commands that have none, so that a command resent after a failover is applied once. Unguessable
    /// (a client could otherwise send a message under a key the link will use), at most 40 bytes of
    /// `A-Z a-z 0-9 _ - . :`.
    public var generatedKeyPrefix: String
    /// CURVE on the link (the ZeroMQ guide's Ironhouse): the gateway's key pair and the brokers' public
    /// keys it pins (one for all brokers, or one per broker in order). Nil: plain sockets (ipc://, or
    /// tcp:// on loopback with `--insecure-loopback`).
    public var curve: CurveClientKeys?

    /// A configuration for the single broker at `commandsEndpoint`/`broadcastsEndpoint`.
    public init(commandsEndpoint: String, broadcastsEndpoint: String, gatewayID: String) {
        self.brokers = [BrokerEndpoints(commands: commandsEndpoint, broadcasts: broadcastsEndpoint)]
        self.gatewayID = gatewayID
        self.generatedKeyPrefix = Self.randomKeyPrefix(gatewayID: gatewayID)
    }

    /// A configuration for `brokers`: one broker, or the two brokers of a pair (heartbeat 250 ms).
    public init(brokers: [BrokerEndpoints], gatewayID: String) throws(Invalid) {
        guard (1...Self.maxBrokers).contains(brokers.count) else { throw .brokerCount(brokers.count) }
        self.brokers = brokers
        self.gatewayID = gatewayID
        self.generatedKeyPrefix = Self.randomKeyPrefix(gatewayID: gatewayID)
    }

    /// Whether the link follows the active broker of a pair.
    public var isPair: Bool { brokers.count > 1 }

    /// A fresh gateway id: `gw-` and 128 bits from the system's CSPRNG in hex, so that a restarted
    /// gateway (same port, maybe pid 1 in a container) never takes over an earlier one's members.
    public static func randomGatewayID() -> String {
        "gw-" + randomHex(words: 2)
    }

    /// Up to 10 key-safe characters of the gateway id (for reading logs), `.`, 64 random bits in hex, `.`.
    static func randomKeyPrefix(gatewayID: String) -> String {
        let safe = gatewayID.unicodeScalars.filter {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.:".unicodeScalars.contains($0))
        }
        return String(String.UnicodeScalarView(safe.suffix(10))) + "." + randomHex(words: 1) + "."
    }

    private static func randomHex(words: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<words).map { _ in
            let digits = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }
}
