/// The idempotency keys of a room's last messages and the seq each was given, so a retried `message`
/// or `post` is answered with its first seq instead of being applied twice.
///
/// Keeps the last ``capacity`` keys as 64-bit hashes (SipHash with this process's random seed, so no
/// one can craft collisions): 16 bytes per key, allocated only as keys arrive.
public struct RecentKeys: Sendable {
    /// Keys remembered per room.
    public static let capacity = 1024
    private var hashes: [Int] = []
    private var seqs: [UInt64] = []
    private var next = 0

    /// No keys yet.
    public init() {}

    /// The seq of the message sent with `key`, if it is among the last keys.
    public func seq(of key: String) -> UInt64? {
        let hash = Self.hash(key)
        guard let index = hashes.firstIndex(of: hash) else { return nil }
        return seqs[index]
    }

    /// Remembers that the message sent with `key` got `seq`, forgetting the oldest key when full.
    public mutating func record(_ key: String, seq: UInt64) {
        let hash = Self.hash(key)
        if hashes.count < Self.capacity {
            hashes.append(hash)
            seqs.append(seq)
        } else {
            hashes[next] = hash
            seqs[next] = seq
            next = (next + 1) % Self.capacity
        }
    }

    /// How many keys are remembered.
    public var count: Int { hashes.count }

    private static func hash(_ key: String) -> Int {
        var hasher = Hasher()
        hasher.combine(key)
        return hasher.finalize()
    }
}
