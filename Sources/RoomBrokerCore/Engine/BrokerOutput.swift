import ChatWire

/// What the broker must send after handling one command or tick.
public struct BrokerOutput: Equatable, Sendable {
    /// The reply to the command's gateway, if one is due.
    public var reply: WireReply?
    /// Room broadcasts to publish, in order.
    public var broadcasts: [WireBroadcast] = []

    /// An output with `reply` and `broadcasts`.
    public init(reply: WireReply? = nil, broadcasts: [WireBroadcast] = []) {
        self.reply = reply
        self.broadcasts = broadcasts
    }
}
