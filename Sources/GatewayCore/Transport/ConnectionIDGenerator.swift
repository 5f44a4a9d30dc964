import Synchronization

/// Hands out process-unique, increasing connection ids (one per accepted TCP connection).
enum ConnectionIDGenerator {
    private static let last = Atomic<UInt64>(0)

    /// The next id; the first is 1.
    static func next() -> UInt64 {
        last.wrappingAdd(1, ordering: .relaxed).newValue
    }
}
