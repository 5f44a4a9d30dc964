import Metrics
import Synchronization

/// A swift-metrics meter whose value can also be read in process: the open connections, served at
/// `/metrics` and shown on `/status`.
final class ReadableMeter: Sendable {
    private let meter: Meter
    private let count = Atomic<Int>(0)

    /// A meter named `label`, bound to the bootstrapped back end.
    init(label: String) {
        meter = Meter(label: label)
    }

    /// One more.
    func increment() {
        count.add(1, ordering: .relaxed)
        meter.increment()
    }

    /// One fewer.
    func decrement() {
        count.subtract(1, ordering: .relaxed)
        meter.decrement()
    }

    /// The value now.
    var value: Int { count.load(ordering: .relaxed) }
}
