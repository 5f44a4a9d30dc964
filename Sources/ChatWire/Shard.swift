/// Which rooms one broker (or broker pair) owns when the rooms are spread over several
/// (docs/PROTOCOL.md, "Shards"): room `name` belongs to shard `SipHash-2-4(key, UTF-8 bytes of name) mod
/// count` with the cluster's ``ShardKey`` (`FNV-1a 64` without one: only tests and a single shard).
/// Gateways route each room's commands by the same function, so a room lives on one shard for its whole
/// life and never moves (the number of shards cannot change while rooms live).
public struct Shard: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A shard setting that cannot be used.
    public enum Invalid: Error, Equatable, CustomStringConvertible {
        /// Not of the form `I/N` with two whole numbers.
        case malformed(String)
        /// `I/N` outside 0 ≤ I < N ≤ ``Shard/maxCount``.
        case outOfRange(index: Int, count: Int)

        public var description: String {
            switch self {
            case .malformed(let text):
                return "give the shard as I/N, e.g. 0/2 for the first of two shards (got '\(text.prefix(32))')"
            case .outOfRange(let index, let count):
                return "shard \(index)/\(count) does not exist: give I/N with 0 ≤ I < N ≤ \(Shard.maxCount)"
            }
        }
    }

    /// The most shards: each gateway keeps one link (a thread and two to four sockets) per shard.
    public static let maxCount = 256

    /// This shard's number, 0 ..< ``count``.
    public let index: Int
    /// How many shards the rooms are spread over.
    public let count: Int
    /// The cluster's placement key (`--shard-key`); nil: the unkeyed FNV-1a 64 (one shard, tests).
    public let key: ShardKey?

    /// The only shard when rooms are not sharded: it owns every room.
    public static let whole = Shard(uncheckedIndex: 0, count: 1, key: nil)

    /// Shard `index` of `count`, placing rooms with `key`.
    public init(index: Int, count: Int, key: ShardKey? = nil) throws(Invalid) {
        guard count >= 1, count <= Self.maxCount, index >= 0, index < count else {
            throw .outOfRange(index: index, count: count)
        }
        self.init(uncheckedIndex: index, count: count, key: key)
    }

    /// Reads `I/N` (as in `RoomBroker --shard 1/4`); rooms are placed with `key`.
    public init(parsing text: String, key: ShardKey? = nil) throws(Invalid) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard text.utf8.count <= 16, parts.count == 2,
            parts.allSatisfy({
                !$0.isEmpty && $0.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            }),
            let index = Int(parts[0]), let count = Int(parts[1])
        else { throw .malformed(text) }
        try self.init(index: index, count: count, key: key)
    }

    private init(uncheckedIndex index: Int, count: Int, key: ShardKey?) {
        self.index = index
        self.count = count
        self.key = key
    }

    /// The shard of the room `name` (as validated: ``FieldValidator/room(_:)``) among `count` shards,
    /// placed with `key`.
    @inlinable
    public static func index(ofRoom name: String, count: Int, key: ShardKey? = nil) -> Int {
        guard count > 1 else { return 0 }
        let hash = key.map { $0.hash(room: name) } ?? FNV1a64.hash(name.utf8)
        return Int(hash % UInt64(count))
    }

    /// Whether this shard owns the room `name`.
    @inlinable
    public func owns(room name: String) -> Bool {
        Self.index(ofRoom: name, count: count, key: key) == index
    }

    /// `I/N`, and the key's fingerprint when there is one (`0/2 key 1a2b3c4d`).
    public var description: String {
        guard let key else { return "\(index)/\(count)" }
        return "\(index)/\(count) key \(key.fingerprint)"
    }

    private enum CodingKeys: String, CodingKey {
        case index, count, key
    }

    /// A shard of a snapshot: one written before placement keys has none.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        index = try container.decode(Int.self, forKey: .index)
        count = try container.decode(Int.self, forKey: .count)
        key = try container.decodeIfPresent(ShardKey.self, forKey: .key)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(count, forKey: .count)
        try container.encodeIfPresent(key, forKey: .key)
    }
}
