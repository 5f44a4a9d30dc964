import ChatWire

/// What the gateway's sessions and HTTP API use to reach the room brokers: one ``BrokerLink`` (one
/// broker, or the two of a pair), or a ``ShardRouter`` over one link per shard.
public protocol BrokerClient: AnyObject, Sendable {
    /// Sends `body` for `connectionID` from address `client`; `completion` runs on a link's thread with
    /// the outcome.
    func send(_ body: WireCommand.Body, connectionID: UInt64, client: String, completion: BrokerLink.Completion?)
    /// Subscribes to `room` (counted: each follow needs one unfollow). Call before sending its join.
    func follow(_ room: String)
    /// Drops one follow of `room`; the last one unsubscribes.
    func unfollow(_ room: String)
    /// Whether the brokers answered recently (for `/healthz` and readiness).
    var isBrokerReachable: Bool { get }
    /// Connects and starts serving; throws when a socket fails.
    func start() async throws
    /// Sends what is queued (members' disconnects), then closes.
    func stop() async
    /// Asks every broker for its status (the answers go to the handler the links were made with).
    func requestStatus()
}

extension BrokerClient {
    /// Sends a gateway-level `body` (no client address) for `connectionID`.
    public func send(_ body: WireCommand.Body, connectionID: UInt64, completion: BrokerLink.Completion?) {
        send(body, connectionID: connectionID, client: "", completion: completion)
    }
}

extension BrokerLink: BrokerClient {}
