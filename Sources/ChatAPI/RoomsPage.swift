import ChatWire

/// Which part of the room list `GET /api/rooms?limit=&after=` asks for.
public struct RoomsPage: Sendable, Equatable {
    /// Fewest and most rooms one page may ask for.
    public static let limitRange = 1...200
    /// Rooms per page when `limit` is not given.
    public static let defaultLimit = 100
    /// Longest query string read; a longer one is refused.
    public static let maxQueryBytes = 512

    /// At most this many rooms.
    public var limit: Int
    /// Only rooms whose name sorts after this one (`nil`: from the first).
    public var after: String?

    /// A page of `limit` rooms after `after`.
    public init(limit: Int = RoomsPage.defaultLimit, after: String? = nil) {
        self.limit = limit
        self.after = after
    }

    /// Parses the query string (without `?`): `limit` 1–200, `after` a room name; other
    /// parameters are ignored, a repeated `limit` or `after` is refused.
    public init(query: some StringProtocol) throws(ChatError) {
        self.init()
        guard query.utf8.count <= Self.maxQueryBytes else {
            throw ChatError(.badRequest, "the query string must be at most \(Self.maxQueryBytes) bytes")
        }
        var seen: Set<Substring> = []
        for pair in Substring(query).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0]
            guard key == "limit" || key == "after" else { continue }
            guard seen.insert(key).inserted else { throw ChatError(.badRequest, "give '\(key)' at most once") }
            let value = parts.count > 1 ? parts[1] : ""
            if key == "limit" {
                guard value.utf8.count <= 3, let limit = Int(value), Self.limitRange.contains(limit) else {
                    throw ChatError(
                        .badRequest,
                        "limit must be a whole number from \(Self.limitRange.lowerBound) to \(Self.limitRange.upperBound)"
                    )
                }
                self.limit = limit
            } else {
                // Room names are plain ASCII, so no percent-decoding is needed to read a valid one.
                after = try FieldValidator.room(String(value))
            }
        }
    }
}
