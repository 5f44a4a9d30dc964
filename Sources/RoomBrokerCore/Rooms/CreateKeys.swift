/// The rooms created with an idempotency key in the last ``lifetimeMilliseconds``, per client address
/// key, so that a retried `create` names the same room instead of making a second one.
///
/// Bounded: at most ``capacity`` entries, the oldest forgotten first. Times are monotonic ms.
struct CreateKeys: Sendable, Codable {
    /// How long a key is remembered.
    static let lifetimeMilliseconds: UInt64 = 2 * 60 * 1000
    /// Most keys remembered over all addresses.
    static let capacity = 10_000

    private struct Entry: Sendable, Codable {
        var room: String
        var at: UInt64
    }

    private struct Recorded: Sendable, Codable {
        var key: String
        var at: UInt64
    }

    private var entries: [String: Entry] = [:]
    /// Keys in the order they were recorded, for expiry.
    private var order = FIFOQueue<Recorded>()

    /// The room created with `key` from `client` within the lifetime, if any.
    func room(client: String, key: String, now: UInt64) -> String? {
        guard let entry = entries[Self.compose(client, key)], now &- entry.at < Self.lifetimeMilliseconds else {
            return nil
        }
        return entry.room
    }

    /// Remembers that `client` created `room` with `key` at `now`.
    mutating func record(client: String, key: String, room: String, now: UInt64) {
        let composed = Self.compose(client, key)
        entries[composed] = Entry(room: room, at: now)
        order.append(Recorded(key: composed, at: now))
        while entries.count > Self.capacity, let oldest = order.popFirst() {
            if entries[oldest.key]?.at == oldest.at { entries[oldest.key] = nil }
        }
    }

    /// Forgets keys older than the lifetime.
    mutating func purge(now: UInt64) {
        while let oldest = order.first, now >= oldest.at, now - oldest.at >= Self.lifetimeMilliseconds {
            _ = order.popFirst()
            if entries[oldest.key]?.at == oldest.at { entries[oldest.key] = nil }
        }
    }

    /// How many keys are remembered.
    var count: Int { entries.count }

    private static func compose(_ client: String, _ key: String) -> String {
        "\(client)\u{0}\(key)"
    }
}
