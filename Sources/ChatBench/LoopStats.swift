import NIOCore

/// The counters shared by the clients of one event loop. Used on that loop only; read from
/// elsewhere through ``snapshot()``.
final class LoopStats: @unchecked Sendable {
    /// The loop that owns these counters.
    let eventLoop: any EventLoop
    /// Mutated by the loop's clients.
    var counters = StatsSnapshot()

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// A copy of the counters, taken on the owning loop.
    func snapshot() async throws -> StatsSnapshot {
        try await eventLoop.submit { self.counters }.get()
    }
}
