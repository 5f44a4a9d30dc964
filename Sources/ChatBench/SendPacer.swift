import NIOCore

/// Sends `message` events from one event loop's senders at a fixed rate, round robin, from
/// `start` until `end` (monotonic ns). Each tick sends what is due by then, at most
/// `maxPerSenderPerTick` per sender, so a stalled loop catches up over
/// several ticks instead of bursting past the gateway's per-connection limit (20/s, burst 40).
final class SendPacer: @unchecked Sendable {
    private let senders: [BenchClient]
    private let eventLoop: any EventLoop
    private let ratePerSecond: Double
    private let start: UInt64
    private let end: UInt64
    private let padding: String
    private var sent = 0
    private var next = 0
    private var task: RepeatedTask?
    private let done: EventLoopPromise<Void>
    private static let tick = TimeAmount.milliseconds(2)
    private static let maxPerSenderPerTick = 4

    init(
        senders: [BenchClient],
        eventLoop: any EventLoop,
        ratePerSecond: Double,
        start: UInt64,
        end: UInt64,
        padding: String
    ) {
        self.senders = senders
        self.eventLoop = eventLoop
        self.ratePerSecond = ratePerSecond
        self.start = start
        self.end = end
        self.padding = padding
        self.done = eventLoop.makePromise()
    }

    /// Starts the pacer and waits until its time is up.
    func run() async throws {
        guard !senders.isEmpty, ratePerSecond > 0 else {
            done.succeed()  // A loop without senders (all of a room's senders may share one loop).
            return
        }
        try await eventLoop.flatSubmit {
            let now = NIODeadline.now().uptimeNanoseconds
            let delay = TimeAmount.nanoseconds(Int64(self.start > now ? self.start - now : 0))
            self.task = self.eventLoop.scheduleRepeatedTask(initialDelay: delay, delay: Self.tick) { _ in self.fire() }
            return self.done.futureResult
        }.get()
    }

    private func fire() {
        let now = NIODeadline.now().uptimeNanoseconds
        let until = min(now, end)
        let due = Int(Double(until &- start) / 1e9 * ratePerSecond) - sent
        let count = min(max(due, 0), senders.count * Self.maxPerSenderPerTick)
        if count > 0 {
            let first = next
            for _ in 0..<count {
                senders[next].writeMessage(sentNanos: NIODeadline.now().uptimeNanoseconds, padding: padding)
                next = (next + 1) % senders.count
            }
            // Flush each sender touched, once.
            for offset in 0..<min(count, senders.count) {
                senders[(first + offset) % senders.count].flushIfNeeded()
            }
            sent += count
        }
        if now >= end {
            task?.cancel()
            done.succeed()
        }
    }
}
