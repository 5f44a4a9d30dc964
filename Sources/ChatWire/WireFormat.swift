/// Constants of the gateway-broker wire format (see docs/PROTOCOL.md).
public enum WireFormat {
    /// The version byte every frame starts with.
    public static let version: UInt8 = 1
    /// The largest command or reply frame either side accepts.
    public static let maxFrameSize = 1 << 20

    /// The broadcast topic of `room`: `room/<name>/`. The trailing slash, which room names cannot
    /// contain, keeps one room's subscription from matching another room whose name it prefixes.
    public static func topic(room: String) -> [UInt8] {
        Array("room/\(room)/".utf8)
    }
}
