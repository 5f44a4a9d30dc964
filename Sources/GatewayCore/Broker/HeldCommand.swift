import ChatWire

/// A client command the broker link holds back instead of sending: a join until its room's subscription
/// is confirmed (``RoomSubscriptions``), or any command until a broker has answered this gateway's hello
/// (``BrokerLinkState``). `Caller` waits for its outcome.
struct HeldCommand<Caller> {
    var body: WireCommand.Body
    var connectionID: UInt64
    /// The client's address key (rate limits on the broker).
    var client: String
    var caller: Caller?
    /// When it stops waiting (``MonotonicClock`` ms).
    var deadline: UInt64
}
