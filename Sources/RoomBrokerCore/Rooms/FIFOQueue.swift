import DequeModule

/// A first-in first-out queue (swift-collections' `Deque`) that keeps the snapshot layout of the
/// array-and-head queue it replaced: `{storage, head}`, the live elements being `storage[head...]`. A
/// standby of the next build loads an active's state of this one (docs/DEPLOY.md, *Upgrades*).
struct FIFOQueue<Element: Sendable>: Sendable {
    private var elements = Deque<Element>()

    /// Elements queued.
    var count: Int { elements.count }

    /// The oldest element.
    var first: Element? { elements.first }

    /// Queues `element` last.
    mutating func append(_ element: Element) {
        elements.append(element)
    }

    /// Removes and returns the oldest element.
    mutating func popFirst() -> Element? {
        elements.popFirst()
    }

    /// Keeps only the elements for which `isKept` holds, in order.
    mutating func retain(_ isKept: (Element) -> Bool) {
        elements.removeAll { !isKept($0) }
    }
}

extension FIFOQueue: Codable where Element: Codable {
    private enum CodingKeys: String, CodingKey {
        case storage
        case head
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let storage = try container.decode([Element].self, forKey: .storage)
        let head = try container.decodeIfPresent(Int.self, forKey: .head) ?? 0
        guard (0...storage.count).contains(head) else {
            throw DecodingError.dataCorruptedError(
                forKey: .head,
                in: container,
                debugDescription: "head \(head) outside 0...\(storage.count)"
            )
        }
        elements = Deque(storage[head...])
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Array(elements), forKey: .storage)
        try container.encode(0, forKey: .head)
    }
}
