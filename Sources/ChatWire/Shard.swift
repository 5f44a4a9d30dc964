/// Which rooms one broker (or broker pair) owns when the rooms are spread over several
/// (docs/PROTOCOL.md, "Shards"): room `name` belongs to shard `FNV-1a 64(UTF-8 bytes of name) mod count`.
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

    /// The only shard when rooms are not sharded: it owns every room.
    public static let whole = Shard(uncheckedIndex: 0, count: 1)

    /// Shard `index` of `count`.
    public init(index: Int, count: Int) throws(Invalid) {
        guard count >= 1, count <= Self.maxCount, index >= 0, index < count else {
            throw .outOfRange(index: index, count: count)
        }
        self.init(uncheckedIndex: index, count: count)
    }

    /// Reads `I/N` (as in `RoomBroker --shard 1/4`).
    public init(parsing text: String) throws(Invalid) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard text.utf8.count <= 16, parts.count == 2,
            parts.allSatisfy({
                !$0.isEmpty && $0.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            }),
            let index = Int(parts[0]), let count = Int(parts[1])
        else { throw .malformed(text) }
        try self.init(index: index, count: count)
    }

    private init(uncheckedIndex index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// The shard of the room `name` (as validated: ``FieldValidator/room(_:)``) among `count` shards.
    @inlinable
    public static func index(ofRoom name: String, count: Int) -> Int {
        guard count > 1 else { return 0 }
        return Int(FNV1a64.hash(name.utf8) % UInt64(count))
    }

    /// Whether this shard owns the room `name`.
    @inlinable
    public func owns(room name: String) -> Bool {
        Self.index(ofRoom: name, count: count) == index
    }

    /// `I/N`.
    public var description: String { "\(index)/\(count)" }
}
