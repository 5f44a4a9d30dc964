/// The caps `JSONParser` checks while it reads, so that any text costs time linear in its length
/// and memory bounded by the caps, and fails as soon as a cap is passed.
public struct JSONParserLimits: Sendable, Equatable {
    /// The deepest nesting of arrays and objects (`[1]` is 1 deep, a bare scalar 0).
    public var maxDepth: Int
    /// The most values in all: every scalar, array and object counts one, object keys do not.
    public var maxValues: Int
    /// The longest string (keys too), in bytes as written between its quotes, escapes included.
    public var maxStringBytes: Int
    /// The longest number, in characters as written (`-1.5e3` is 6).
    public var maxNumberLength: Int

    /// Caps for one text.
    public init(maxDepth: Int, maxValues: Int, maxStringBytes: Int, maxNumberLength: Int) {
        self.maxDepth = maxDepth
        self.maxValues = maxValues
        self.maxStringBytes = maxStringBytes
        self.maxNumberLength = maxNumberLength
    }

    /// The caps for anything a client sends (one Socket.IO packet, one HTTP body): depth 8,
    /// 64 values, strings of at most 32768 bytes, numbers of at most 32 characters. The largest
    /// legitimate event, a 2000-scalar message with every scalar escaped, fits well inside them.
    public static let client = JSONParserLimits(maxDepth: 8, maxValues: 64, maxStringBytes: 32768, maxNumberLength: 32)

    /// Wide caps for JSON this server wrote itself (join acks with a whole history), read by tests
    /// and the benchmark client. Never use them for client input.
    public static let trusted = JSONParserLimits(
        maxDepth: 64,
        maxValues: 10_000_000,
        maxStringBytes: 1 << 30,
        maxNumberLength: 64
    )
}
