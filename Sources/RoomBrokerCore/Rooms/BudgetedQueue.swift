/// An element of a ``BudgetedQueue``: numbered in increasing order, with a size in bytes.
public protocol BudgetedElement: Sendable {
    /// The room sequence number; elements are appended in increasing order.
    var seq: UInt64 { get }
    /// The bytes the element holds (payload plus a fixed overhead), counted against the budgets.
    var byteCount: Int { get }
    /// The broker-wide sequence number, for elements that have one (kept broadcasts); else 0.
    var globalSeq: UInt64 { get }
}

extension BudgetedElement {
    /// Elements without a broker-wide number report 0.
    public var globalSeq: UInt64 { 0 }
}

/// A FIFO kept within a number of elements and a number of bytes: appending drops the oldest elements
/// until both hold again (the newest element is always kept). Removed elements are released at once.
public struct BudgetedQueue<Element: BudgetedElement & Codable>: Sequence, Sendable, Codable {
    /// What an append or a trim released.
    public struct Released: Equatable, Sendable {
        /// Elements dropped.
        public var count = 0
        /// Their bytes.
        public var bytes = 0
    }

    private var slots: [Element?] = []
    private var head = 0
    /// The number of elements kept.
    public private(set) var count = 0
    /// The bytes of the kept elements.
    public private(set) var bytes = 0
    /// The seq of the newest element ever dropped (0 while none was): every element after it is kept.
    public private(set) var lastDroppedSeq: UInt64 = 0
    /// The ``BudgetedElement/globalSeq`` of that element (0 while none was dropped).
    public private(set) var lastDroppedGlobalSeq: UInt64 = 0
    /// The most elements kept.
    public let capacity: Int
    /// The most bytes kept (exceeded only by a single newest element larger than it).
    public let byteBudget: Int

    /// An empty queue of at most `capacity` elements (at least 1) and `byteBudget` bytes.
    public init(capacity: Int, byteBudget: Int) {
        self.capacity = Swift.max(1, capacity)
        self.byteBudget = Swift.max(0, byteBudget)
    }

    /// The oldest element.
    public var first: Element? { count > 0 ? slots[head] : nil }

    /// Appends `element`, dropping the oldest ones while over either limit; returns what was dropped.
    @discardableResult
    public mutating func append(_ element: Element) -> Released {
        var released = Released()
        if count == capacity, let oldest = removeFirst() {
            released.count += 1
            released.bytes += oldest.byteCount
        }
        if count < slots.count {
            slots[(head + count) % slots.count] = element
        } else {
            if head != 0 {
                slots = Array(slots[head...]) + Array(slots[..<head])
                head = 0
            }
            slots.append(element)
        }
        count += 1
        bytes += element.byteCount
        while bytes > byteBudget, count > 1, let oldest = removeFirst() {
            released.count += 1
            released.bytes += oldest.byteCount
        }
        return released
    }

    /// Removes and returns the oldest element.
    @discardableResult
    public mutating func removeFirst() -> Element? {
        guard count > 0, let element = slots[head] else { return nil }
        slots[head] = nil
        head = (head + 1) % slots.count
        count -= 1
        bytes -= element.byteCount
        lastDroppedSeq = element.seq
        lastDroppedGlobalSeq = element.globalSeq
        if count == 0 { head = 0 }
        return element
    }

    /// The element `offset` places after the oldest (0 is the oldest).
    public subscript(offset: Int) -> Element? {
        guard offset >= 0, offset < count else { return nil }
        return slots[(head + offset) % slots.count]
    }

    /// The elements, oldest first.
    public func makeIterator() -> AnyIterator<Element> {
        var offset = 0
        return AnyIterator {
            defer { offset += 1 }
            return self[offset]
        }
    }

    /// The offset of the first element whose seq is at least `seq` (binary search; `count` if none).
    public func firstOffset(atOrAfter seq: UInt64) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if let element = self[middle], element.seq < seq { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
