/// Constants of the gateway-broker wire format (see docs/PROTOCOL.md).
public enum WireFormat {
    /// The version byte every frame starts with.
    public static let version: UInt8 = 4
    /// The largest command or reply frame either side accepts (`ZMQ_MAXMSGSIZE` on every socket).
    /// The broker never builds a larger reply: it trims join histories and splits replays to fit.
    public static let maxFrameSize = 1 << 20
    /// The largest broadcast payload: one event's client text (a maximum-size message escaped).
    public static let maxPayloadSize = 64 << 10

    /// The broadcast topic of `room`: `room/<name>/`. The trailing slash, which room names cannot
    /// contain, keeps one room's subscription from matching another room whose name it prefixes.
    public static func topic(room: String) -> [UInt8] {
        Array("room/\(room)/".utf8)
    }

    /// The room named by a topic, or nil when `topic` is not a room topic.
    public static func room(ofTopic topic: some BidirectionalCollection<UInt8>) -> String? {
        let prefix = Array("room/".utf8)
        guard topic.count > prefix.count + 1, topic.starts(with: prefix), topic.last == UInt8(ascii: "/") else {
            return nil
        }
        return String(validating: topic.dropFirst(prefix.count).dropLast(), as: UTF8.self)
    }
}
