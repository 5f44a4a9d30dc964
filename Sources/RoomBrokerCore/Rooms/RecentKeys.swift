/// The idempotency keys of a room's last messages and the seq each was given, so a retried `message`
/// or `post` is answered with its first seq instead of being applied twice.
///
/// Keeps the last ``capacity`` keys themselves (at most 64 bytes each, ``FieldValidator/key(_:)``), not
/// hashes of them: the table is copied to a standby broker, whose hash seed differs. Allocated only as
/// keys arrive.
public struct RecentKeys: Sendable, Codable {
    /// Keys remembered per room.
    public static let capacity = 1024
    /// The seq of each remembered key.
    private var seqs: [String: UInt64] = [:]
    /// The keys in the order they came, as a ring once full.
    private var order: [String] = []
    private var next = 0

    /// No keys yet.
    public init() {}

    /// The seq of the message sent with `key`, if it is among the last keys.
    public func seq(of key: String) -> UInt64? {
        seqs[key]
    }

    /// Remembers that the message sent with `key` got `seq`, forgetting the oldest key when full.
    public mutating func record(_ key: String, seq: UInt64) {
        guard seqs.updateValue(seq, forKey: key) == nil else { return }
        if order.count < Self.capacity {
            order.append(key)
        } else {
            seqs[order[next]] = nil
            order[next] = key
            next = (next + 1) % Self.capacity
        }
    }

    /// How many keys are remembered.
    public var count: Int { seqs.count }
}
