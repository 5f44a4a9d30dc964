/// A first-in first-out queue on an array: popping advances a head index, and the consumed front is
/// released once it is at least half of the storage (amortised O(1) per element).
struct FIFOQueue<Element: Sendable>: Sendable {
    private var storage: [Element] = []
    private var head = 0

    /// Elements queued.
    var count: Int { storage.count - head }

    /// The oldest element.
    var first: Element? { head < storage.count ? storage[head] : nil }

    /// Queues `element` last.
    mutating func append(_ element: Element) {
        storage.append(element)
    }

    /// Removes and returns the oldest element.
    mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        head += 1
        if head >= 1024, head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Keeps only the elements for which `isKept` holds, in order.
    mutating func retain(_ isKept: (Element) -> Bool) {
        storage = storage[head...].filter(isKept)
        head = 0
    }
}

extension FIFOQueue: Codable where Element: Codable {}
