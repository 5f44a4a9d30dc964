import DequeModule

/// The idempotency keys of a room's recent messages and the seq each was given, so a retried
/// `message` or `post` is answered with its first seq instead of being applied twice.
///
/// A retry comes within seconds (a gateway resends what was unanswered when it fails over), so a key
/// is kept for ``retentionMilliseconds`` and at most the last ``capacity`` of them: a quiet room keeps
/// none, a busy one at most 1,024 (at most 64 bytes each, ``FieldValidator/key(_:)``). The keys
/// themselves are kept, not hashes: the table is copied to a standby broker, whose hash seed differs.
public struct RecentKeys: Sendable {
    /// Keys remembered per room at most.
    public static let capacity = 1024
    /// How long a key is remembered, ms: far longer than a failover (about a second) and the gateways'
    /// request deadline.
    public static let retentionMilliseconds: UInt64 = 60_000

    /// One remembered key and when it came (broker monotonic ms).
    struct Entry: Sendable, Codable, Equatable {
        var key: String
        var at: UInt64
    }

    /// The seq of each remembered key.
    private var seqs: [String: UInt64] = [:]
    /// The keys in the order they came.
    private var entries = Deque<Entry>()

    /// No keys yet.
    public init() {}

    /// The seq of the message sent with `key`, if it is remembered.
    public func seq(of key: String) -> UInt64? {
        seqs[key]
    }

    /// Remembers that the message sent with `key` at `now` got `seq`, forgetting keys past their
    /// retention and the oldest one when full.
    public mutating func record(_ key: String, seq: UInt64, now: UInt64) {
        expire(now: now)
        guard seqs.updateValue(seq, forKey: key) == nil else { return }
        entries.append(Entry(key: key, at: now))
        if entries.count > Self.capacity, let oldest = entries.popFirst() { seqs[oldest.key] = nil }
    }

    /// Forgets the keys that came more than ``retentionMilliseconds`` before `now`.
    public mutating func expire(now: UInt64) {
        while let oldest = entries.first, now >= oldest.at, now - oldest.at > Self.retentionMilliseconds {
            entries.removeFirst()
            seqs[oldest.key] = nil
        }
    }

    /// How many keys are remembered.
    public var count: Int { seqs.count }

    /// Whether no key is remembered (nothing to expire).
    public var isEmpty: Bool { entries.isEmpty }
}

extension RecentKeys: Codable {
    /// `seqs` and `entries`; an earlier build's layout (`seqs`, a ring `order` and its `next` slot) loads
    /// with every key as old as the broker's clock allows: kept until the first expiry.
    private enum CodingKeys: String, CodingKey {
        case seqs
        case entries
        case order
        case next
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        seqs = try container.decode([String: UInt64].self, forKey: .seqs)
        if let entries = try container.decodeIfPresent([Entry].self, forKey: .entries) {
            self.entries = Deque(entries)
        } else {
            let order = try container.decode([String].self, forKey: .order)
            let next = try container.decodeIfPresent(Int.self, forKey: .next) ?? 0
            let start = order.indices.contains(next) ? next : 0
            // The ring's oldest key is at `next` once it is full (`next` is 0 until then).
            let oldestFirst = order[start...] + order[..<start]
            entries = Deque(oldestFirst.map { Entry(key: $0, at: 0) })
        }
        guard entries.count == seqs.count, entries.allSatisfy({ seqs[$0.key] != nil }) else {
            throw DecodingError.dataCorruptedError(
                forKey: .seqs,
                in: container,
                debugDescription: "\(seqs.count) keys with seqs, \(entries.count) in order"
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(seqs, forKey: .seqs)
        try container.encode(Array(entries), forKey: .entries)
    }
}
