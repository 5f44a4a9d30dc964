import Dispatch
import Foundation
import Synchronization

/// Standard output for log lines that never blocks the thread that logs.
///
/// `write(line:)` appends the line to a bounded buffer under a short lock and returns; only the
/// writer's own background thread calls `write(2)`: every 50 ms, or at once when 64 KiB are waiting.
/// When the buffer is full (the output is slower than the logging: a blocked terminal, a pipe nobody
/// reads), whole lines are dropped and counted, and the first batch written after that ends with
/// one line `log: dropped N lines`. Lines are never torn: each batch holds only whole lines and one
/// thread writes them in order. The last quarter of the buffer is kept for ``LogLane/urgent`` lines
/// (`notice` and above): a flood of ordinary lines never drops a warning while there is room for it.
public final class BufferedTerminalOutput: Sendable {
    /// The process-wide standard-output writer; at exit it flushes what is left for at most 2 s.
    public static let standard: BufferedTerminalOutput = {
        let output = BufferedTerminalOutput(fileDescriptor: 1)
        atexit { _ = BufferedTerminalOutput.standard.flush(timeout: .seconds(2)) }
        return output
    }()

    /// The default bound on buffered bytes: 4 MiB.
    public static let defaultCapacity = 4 << 20
    /// The default longest time a line waits before the background thread writes it.
    public static let defaultFlushInterval = Duration.milliseconds(50)

    private struct State {
        /// Whole lines not handed to the flusher yet; with `records`, never more than `capacity` bytes.
        var pending: [UInt8] = []
        /// Events to format on the flusher thread, each after the bytes of `pending` before it
        /// (`after`: the count of `pending` when it came), and the bytes reserved for them.
        var records: [(after: Int, record: TerminalLogRecord)] = []
        var recordBytes = 0
        /// Lines dropped since the last `log: dropped` notice; while non-zero every line is dropped,
        /// so that the notice stands exactly where the gap is.
        var droppedSinceNotice = 0
        /// The format of the `log: dropped` notice: that of the latest record (text until one came).
        var noticeFormat = LogFormat.text
        /// Whether the flusher was woken for the current batch already.
        var wakeSent = false
        /// Bytes appended so far (notices included).
        var appended: UInt64 = 0
        /// Bytes the flusher finished with (written, or lost to an output error).
        var finished: UInt64 = 0
        /// `flush(timeout:)` calls waiting for `finished` to reach their target.
        var waiters: [(target: UInt64, done: DispatchSemaphore)] = []
        var closing = false
    }

    private let fileDescriptor: Int32
    private let capacity: Int
    private let wakeThreshold: Int
    private let flushInterval: Duration
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)
    private let dropped = Atomic<Int>(0)
    private let droppedUrgent = Atomic<Int>(0)
    /// Bytes of the buffer only urgent lines may use.
    private let urgentReserve: Int

    /// A writer to `fileDescriptor` that buffers at most `capacity` bytes and writes at least every
    /// `flushInterval`. Starts its background thread at once; `close(timeout:)` stops it.
    public init(fileDescriptor: Int32, capacity: Int = defaultCapacity, flushInterval: Duration = defaultFlushInterval)
    {
        self.fileDescriptor = fileDescriptor
        self.capacity = max(capacity, 1)
        self.urgentReserve = self.capacity / 4
        self.wakeThreshold = min(64 * 1024, max(capacity / 4, 1))
        self.flushInterval = flushInterval
        let thread = Thread { [self] in runFlusher() }
        thread.name = "log-flush"
        thread.start()
    }

    /// Lines dropped since start because the buffer was full or the output failed (for metrics).
    public var droppedLines: Int { dropped.load(ordering: .relaxed) }

    /// Lines of `lane` dropped since start because the buffer was full (or, for ordinary lines, the
    /// output failed: a failed write loses whole batches, whatever their lanes).
    public func droppedLines(in lane: LogLane) -> Int {
        let urgent = droppedUrgent.load(ordering: .relaxed)
        return lane == .urgent ? urgent : droppedLines - urgent
    }

    /// Appends one line (a newline is added), or drops it when the buffer is full (for its lane).
    /// Never blocks on the output.
    public func write(line: String, lane: LogLane = .ordinary) {
        var line = line
        line.withUTF8 { utf8 in append(utf8, lane: lane) }
    }

    /// Queues one event whose line is formatted on the background thread (the hot thread only copies
    /// references), or drops it when the buffer is full. Never blocks on the output.
    public func write(record: TerminalLogRecord) {
        let size = record.reservedBytes
        let wakeNow = state.withLock { state -> Bool in
            if state.closing {
                dropped.add(1, ordering: .relaxed)
                return false
            }
            state.noticeFormat = record.format
            let lane = LogLane(level: record.level)
            guard admits(size, lane, state) else {
                drop(lane, &state)
                return false
            }
            state.records.append((after: state.pending.count, record: record))
            state.recordBytes += size
            state.appended += UInt64(size)
            guard !state.wakeSent, state.pending.count + state.recordBytes >= wakeThreshold else { return false }
            state.wakeSent = true
            return true
        }
        if wakeNow { wake.signal() }
    }

    /// Whether `size` more bytes of `lane` fit: ordinary lines leave ``urgentReserve`` to urgent ones
    /// and, once one was dropped, wait for the notice of that gap.
    private func admits(_ size: Int, _ lane: LogLane, _ state: State) -> Bool {
        let used = state.pending.count + state.recordBytes + size
        switch lane {
        case .ordinary: return state.droppedSinceNotice == 0 && used <= capacity - urgentReserve
        case .urgent: return used <= capacity
        }
    }

    private func drop(_ lane: LogLane, _ state: inout State) {
        state.droppedSinceNotice += 1
        dropped.add(1, ordering: .relaxed)
        if lane == .urgent { droppedUrgent.add(1, ordering: .relaxed) }
    }

    private func append(_ utf8: UnsafeBufferPointer<UInt8>, lane: LogLane) {
        let wakeNow = state.withLock { state -> Bool in
            if state.closing {
                dropped.add(1, ordering: .relaxed)
                return false
            }
            guard admits(utf8.count + 1, lane, state) else {
                drop(lane, &state)
                return false
            }
            state.pending.append(contentsOf: utf8)
            state.pending.append(UInt8(ascii: "\n"))
            state.appended += UInt64(utf8.count + 1)
            guard !state.wakeSent, state.pending.count + state.recordBytes >= wakeThreshold else { return false }
            state.wakeSent = true
            return true
        }
        if wakeNow { wake.signal() }
    }

    /// Asks the background thread to write everything appended so far and waits until it has, for
    /// at most `timeout`. Returns false when the output did not take it in time (the lines stay
    /// buffered). For shutdown and tests; logging code never needs it.
    @discardableResult
    public func flush(timeout: Duration = .seconds(2)) -> Bool {
        let done = DispatchSemaphore(value: 0)
        let alreadyDone = state.withLock { state -> Bool in
            if state.finished >= state.appended && state.droppedSinceNotice == 0 { return true }
            // While lines are being dropped nothing is appended until the notice, which is at
            // least one byte: waiting for one byte more than now waits for the notice too.
            let target = state.appended + (state.droppedSinceNotice > 0 ? 1 : 0)
            state.waiters.append((target: target, done: done))
            return false
        }
        if alreadyDone { return true }
        wake.signal()
        return done.wait(timeout: Self.deadline(after: timeout)) == .success
    }

    /// Writes what is left (waiting at most `timeout`) and stops the background thread; later
    /// lines are dropped. Returns false when the output did not take everything in time.
    @discardableResult
    public func close(timeout: Duration = .seconds(2)) -> Bool {
        state.withLock { $0.closing = true }
        wake.signal()
        return stopped.wait(timeout: Self.deadline(after: timeout)) == .success
    }

    // MARK: - Background thread

    private func runFlusher() {
        var batch: [UInt8] = []
        var records: [(after: Int, record: TerminalLogRecord)] = []
        while true {
            _ = wake.wait(timeout: Self.deadline(after: flushInterval))
            var reserved = 0
            let closing = state.withLock { state -> Bool in
                swap(&batch, &state.pending)
                swap(&records, &state.records)
                reserved = state.recordBytes
                state.recordBytes = 0
                if state.droppedSinceNotice > 0 {
                    let notice = Self.droppedNotice(lines: state.droppedSinceNotice, format: state.noticeFormat)
                    batch.append(contentsOf: notice.utf8)
                    batch.append(UInt8(ascii: "\n"))
                    state.appended += UInt64(notice.utf8.count + 1)
                    state.droppedSinceNotice = 0
                }
                state.wakeSent = false
                return state.closing
            }
            // Accounted as reserved when queued, whatever the formatted lines weigh.
            let handled = UInt64(batch.count + reserved)
            if !records.isEmpty {
                batch = Self.merging(records, into: batch)
                records.removeAll(keepingCapacity: records.capacity <= 4096)
            }
            let lost = writeAll(batch)
            if lost > 0 { dropped.add(lost, ordering: .relaxed) }
            batch.removeAll(keepingCapacity: batch.capacity <= 2 * wakeThreshold)
            let (ready, caughtUp) = state.withLock { state -> ([DispatchSemaphore], Bool) in
                state.finished += handled
                var ready: [DispatchSemaphore] = []
                state.waiters.removeAll { waiter in
                    guard state.finished >= waiter.target else { return false }
                    ready.append(waiter.done)
                    return true
                }
                return (ready, state.finished >= state.appended && state.droppedSinceNotice == 0)
            }
            for done in ready { done.signal() }
            if closing && caughtUp {
                stopped.signal()
                return
            }
        }
    }

    /// Writes `bytes` whole, retrying interrupted and partial writes and waiting on a non-blocking
    /// descriptor; returns the number of lines lost when the output fails.
    private func writeAll(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(fileDescriptor, base + offset, raw.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    var request = pollfd(fd: fileDescriptor, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&request, 1, 50)
                } else {
                    return raw[offset...].reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
                }
            }
            return 0
        }
    }

    /// `bytes` with each record's formatted line put at its place.
    private static func merging(_ records: [(after: Int, record: TerminalLogRecord)], into bytes: [UInt8]) -> [UInt8] {
        var merged: [UInt8] = []
        merged.reserveCapacity(bytes.count + records.count * 160)
        var copied = 0
        for (after, record) in records {
            if after > copied {
                merged.append(contentsOf: bytes[copied..<after])
                copied = after
            }
            merged.append(contentsOf: record.formatted().utf8)
            merged.append(UInt8(ascii: "\n"))
        }
        merged.append(contentsOf: bytes[copied...])
        return merged
    }

    /// The line written where lines were dropped, in the format of the lines around it.
    static func droppedNotice(lines: Int, format: LogFormat) -> String {
        switch format {
        case .text:
            return "\(LogTimestamp.now()) WARN  log: dropped \(lines) lines (the log output did not keep up)"
        case .json:
            return JSONLogLine.format(
                timestamp: LogTimestamp.now(),
                level: .warning,
                label: "log",
                message: "dropped lines (the log output did not keep up)",
                metadata: ["lines": "\(lines)"]
            )
        }
    }

    private static func deadline(after duration: Duration) -> DispatchTime {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = max(0, seconds) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000
        return .now() + .nanoseconds(Int(clamping: nanoseconds))
    }
}
