/// The junk packets of ``AttackKind/junk``.
enum JunkPacket: CaseIterable, Sendable {
    /// An event the server does not know, with an ack id: `unknown_event`.
    case unknownEvent
    /// `message` whose argument has the wrong shape (a number for the room): `bad_request`.
    case wrongShape
    /// JSON cut short after an ack id: `bad_request`.
    case brokenJSON
    /// An Engine.IO noop `6`.
    case noop
    /// An Engine.IO pong `3` nobody asked for.
    case unsolicitedPong

    /// True when the packet carries an ack id (and the refusal comes back as its ack).
    var hasAck: Bool {
        switch self {
        case .unknownEvent, .wrongShape, .brokenJSON: true
        case .noop, .unsolicitedPong: false
        }
    }

    /// The packet's text.
    func text(ackID: UInt64) -> String {
        switch self {
        case .unknownEvent: "42\(ackID)[\"shout\",{\"text\":\"hello\"}]"
        case .wrongShape: "42\(ackID)[\"message\",{\"room\":7,\"text\":\"hello\"}]"
        case .brokenJSON: "42\(ackID)[\"message\",{\"room\":"
        case .noop: "6"
        case .unsolicitedPong: "3"
        }
    }
}
