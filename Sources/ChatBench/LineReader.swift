import Foundation

/// The lines read from a file descriptor (a pipe), by a thread of its own so that no task blocks.
/// The stream ends at end of file or on a read error. A line longer than `maxLineBytes` ends it too.
enum LineReader {
    /// Most bytes of one line (a worker's result line carries its latency histogram as JSON).
    static let maxLineBytes = 4 << 20

    /// Starts reading `descriptor` and returns its lines without the newline.
    static func lines(of descriptor: Int32) -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let thread = Thread {
            var pending: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            reading: while true {
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                pending.append(contentsOf: chunk[0..<count])
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    continuation.yield(String(decoding: pending[..<newline], as: UTF8.self))
                    pending.removeSubrange(...newline)
                }
                if pending.count > maxLineBytes { break reading }
            }
            continuation.finish()
        }
        thread.start()
        return stream
    }
}
