import SocketIO

/// A message as the room keeps it in its history.
public struct ChatMessage: Equatable, Sendable, Codable, BudgetedElement {
    /// The room's sequence number of the message.
    public var seq: UInt64
    /// The sender's display name.
    public var name: String
    /// The text as sent.
    public var text: String
    /// When the broker accepted it, in milliseconds since the Unix epoch (wall clock).
    public var timestamp: UInt64
    /// `.http` for a message posted over the HTTP API (not by a member); nil for a member's.
    public var via: ServerEventEncoder.Via?

    /// A message `seq` from `name`.
    public init(seq: UInt64, name: String, text: String, timestamp: UInt64, via: ServerEventEncoder.Via? = nil) {
        self.seq = seq
        self.name = name
        self.text = text
        self.timestamp = timestamp
        self.via = via
    }

    /// Text and name bytes plus a fixed overhead for the fields and the strings' storage.
    public var byteCount: Int { name.utf8.count + text.utf8.count + 64 }
}

extension ChatMessage: ClientVisibleMessage {
    public var timestampMilliseconds: Int64 { Int64(timestamp) }
}
