import Foundation

/// Hands out process-unique, increasing connection ids (one per accepted TCP connection).
enum ConnectionIDGenerator {
    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var last: UInt64 = 0

        func next() -> UInt64 {
            lock.lock()
            defer { lock.unlock() }
            last += 1
            return last
        }
    }

    private static let counter = Counter()

    /// The next id; the first is 1.
    static func next() -> UInt64 {
        counter.next()
    }
}
