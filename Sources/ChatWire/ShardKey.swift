/// The cluster's secret that places rooms on shards (`--shard-key FILE`, written by `scripts/keys`):
/// a room's shard is SipHash-2-4 of its name under this key, mod the shard count (``Shard``). Without
/// the key nobody can choose room names that land on one shard. Every gateway and broker of a cluster
/// needs the same key; ``fingerprint`` tells keys apart in logs without revealing them.
public struct ShardKey: Sendable, Hashable, Codable {
    /// The key's first 8 bytes as a little-endian word.
    public let k0: UInt64
    /// The key's last 8 bytes as a little-endian word.
    public let k1: UInt64

    /// The key of these 16 bytes, or nil for another length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        func word(_ offset: Int) -> UInt64 {
            bytes[offset..<offset + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
        self.init(k0: word(0), k1: word(8))
    }

    /// The key of two words.
    public init(k0: UInt64, k1: UInt64) {
        self.k0 = k0
        self.k1 = k1
    }

    /// The hash that places the room `name` (its UTF-8 bytes).
    @inlinable
    public func hash(room name: String) -> UInt64 {
        SipHash24.hash(name.utf8, k0: k0, k1: k1)
    }

    /// 8 hexadecimal digits derived from the key (SipHash of a fixed text): equal for equal keys, and
    /// saying nothing of the key itself.
    public var fingerprint: String {
        let value = SipHash24.hash("chat shard key fingerprint".utf8, k0: k0, k1: k1) >> 32
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
