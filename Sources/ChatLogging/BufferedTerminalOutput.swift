import Foundation
import Synchronization

/// Standard output for log lines, written in batches: lines are appended to a buffer that a
/// background thread flushes every 50 ms (or at once past 64 KiB), so a busy broker makes one
/// `write(2)` per batch instead of one per event.
public final class BufferedTerminalOutput: Sendable {
    /// The process-wide standard-output writer.
    public static let standard = BufferedTerminalOutput(fileDescriptor: 1)

    private static let flushThreshold = 64 * 1024
    private let fileDescriptor: Int32
    private let buffer = Mutex<[UInt8]>([])
    private let started = Atomic<Bool>(false)

    /// A writer to `fileDescriptor`.
    public init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    /// Appends one line (a newline is added).
    public func write(line: String) {
        startFlusherIfNeeded()
        let full = buffer.withLock { bytes -> Bool in
            bytes.append(contentsOf: line.utf8)
            bytes.append(UInt8(ascii: "\n"))
            return bytes.count >= Self.flushThreshold
        }
        if full { flush() }
    }

    /// Writes out everything buffered so far.
    public func flush() {
        let bytes = buffer.withLock { bytes -> [UInt8] in
            defer { bytes.removeAll(keepingCapacity: true) }
            return bytes
        }
        var offset = 0
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            while offset < raw.count {
                let written = Foundation.write(fileDescriptor, base + offset, raw.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    private func startFlusherIfNeeded() {
        guard !started.load(ordering: .relaxed),
              started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        if self === Self.standard {
            atexit { BufferedTerminalOutput.standard.flush() }
        }
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 0.05)
                flush()
            }
        }
        thread.name = "log-flush"
        thread.start()
    }
}
