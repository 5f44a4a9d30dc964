/// A fixed-capacity FIFO that drops its oldest element when full.
public struct RingBuffer<Element>: Sequence {
    private var storage: [Element] = []
    private var head = 0
    /// The most elements kept.
    public let capacity: Int

    /// An empty buffer keeping at most `capacity` elements (at least 1).
    public init(capacity: Int) {
        self.capacity = Swift.max(1, capacity)
        storage.reserveCapacity(Swift.min(self.capacity, 128))
    }

    /// The number of elements kept.
    public var count: Int { storage.count }

    /// Appends `element`, dropping the oldest when full.
    public mutating func append(_ element: Element) {
        if storage.count < capacity {
            storage.append(element)
        } else {
            storage[head] = element
            head = (head + 1) % capacity
        }
    }

    /// The elements, oldest first.
    public func makeIterator() -> IndexingIterator<[Element]> {
        (Array(storage[head...]) + Array(storage[..<head])).makeIterator()
    }
}

extension RingBuffer: Sendable where Element: Sendable {}
