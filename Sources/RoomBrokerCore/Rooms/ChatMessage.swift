/// A message as the room keeps it in its history.
public struct ChatMessage: Equatable, Sendable {
    /// The room's sequence number of the message.
    public var seq: UInt64
    /// The sender's display name.
    public var name: String
    /// The text as sent.
    public var text: String
    /// When the broker accepted it, in milliseconds since the Unix epoch.
    public var timestamp: UInt64

    /// A message `seq` from `name`.
    public init(seq: UInt64, name: String, text: String, timestamp: UInt64) {
        self.seq = seq
        self.name = name
        self.text = text
        self.timestamp = timestamp
    }
}
