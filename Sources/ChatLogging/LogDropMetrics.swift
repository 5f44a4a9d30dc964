import CoreMetrics
import Synchronization

/// `chat_log_dropped_lines_total{lane}`: the lines a ``BufferedTerminalOutput`` dropped, per
/// ``LogLane``. The output counts them itself (it must not call into metrics while it holds its lock);
/// ``update()`` brings the counters up to date, called when the metrics are read.
public final class LogDropMetrics: Sendable {
    private let output: BufferedTerminalOutput
    private let counters: [LogLane: Counter]
    private let reported = Mutex<[LogLane: Int]>([:])

    /// Counters for `output`'s dropped lines, made by `factory`.
    public init(output: BufferedTerminalOutput = .standard, factory: any MetricsFactory) {
        self.output = output
        var counters: [LogLane: Counter] = [:]
        for lane in LogLane.allCases {
            counters[lane] = Counter(
                label: "chat_log_dropped_lines_total",
                dimensions: [("lane", lane.rawValue)],
                factory: factory
            )
        }
        self.counters = counters
    }

    /// Adds what was dropped since the last call.
    public func update() {
        reported.withLock { reported in
            for (lane, counter) in counters {
                let total = output.droppedLines(in: lane)
                let delta = total - reported[lane, default: 0]
                if delta > 0 { counter.increment(by: delta) }
                reported[lane] = total
            }
        }
    }
}
