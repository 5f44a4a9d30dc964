import ChatLogging
import Dispatch
import Foundation
import Logging
import XCTest

final class BufferedTerminalOutputTests: XCTestCase {
    func testWritesEveryLineOnFlush() throws {
        let pipe = try Pipe.make()
        let output = BufferedTerminalOutput(fileDescriptor: pipe.write)
        output.write(line: "one")
        output.write(line: "two")
        XCTAssertTrue(output.flush(timeout: .seconds(10)))
        XCTAssertTrue(output.close(timeout: .seconds(10)))
        close(pipe.write)
        XCTAssertEqual(pipe.readToEnd(), "one\ntwo\n")
        XCTAssertEqual(output.droppedLines, 0)
    }

    /// Events logged through the handler are formatted on the output's thread, in their place among
    /// plain lines, escaped as always.
    func testRecordsAreFormattedByTheOutputThreadInOrder() throws {
        let pipe = try Pipe.make()
        let output = BufferedTerminalOutput(fileDescriptor: pipe.write)
        var handler = TerminalLogHandler(label: "broker", buffer: output)
        handler.logLevel = .info
        let logger = Logger(label: "broker") { _ in handler }
        output.write(line: "first")
        logger.info("message", metadata: ["room": "lobby", "text": "hi\nforged line"])
        output.write(line: "between")
        logger.notice("active", metadata: ["term": "2"])
        XCTAssertTrue(output.flush(timeout: .seconds(10)))
        XCTAssertTrue(output.close(timeout: .seconds(10)))
        close(pipe.write)
        let lines = pipe.readToEnd().split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, "\(lines)")
        XCTAssertEqual(lines[0], "first")
        XCTAssertTrue(lines[1].hasSuffix(" INFO  broker message room=lobby text=\"hi\\nforged line\""), lines[1])
        XCTAssertEqual(lines[2], "between")
        XCTAssertTrue(lines[3].hasSuffix(" NOTE  broker active term=2"), lines[3])
    }

    func testTheBackgroundThreadWritesWithoutAFlushCall() throws {
        let pipe = try Pipe.make()
        let output = BufferedTerminalOutput(fileDescriptor: pipe.write)
        defer {
            output.close(timeout: .seconds(10))
            close(pipe.write)
            close(pipe.read)
        }
        output.write(line: "hello")
        // The flusher writes within ~50 ms; wait generously for the bytes to arrive.
        var request = pollfd(fd: pipe.read, events: Int16(POLLIN), revents: 0)
        XCTAssertEqual(poll(&request, 1, 10_000), 1, "the line was not written without a flush call")
        var bytes = [UInt8](repeating: 0, count: 16)
        let count = read(pipe.read, &bytes, bytes.count)
        XCTAssertEqual(String(decoding: bytes.prefix(max(count, 0)), as: UTF8.self), "hello\n")
    }

    /// The log output is a pipe nobody reads (a stalled terminal or log collector): `write(line:)`
    /// keeps returning at once, lines past the buffer are dropped and counted, and once the pipe is
    /// read again the output holds whole lines in order and a notice for each gap.
    func testWritersNeverBlockOnAnOutputThatBlocks() throws {
        let pipe = try Pipe.make()
        let output = BufferedTerminalOutput(fileDescriptor: pipe.write, capacity: 64 * 1024)
        let total = 50_000  // ~5 MB: far more than the pipe (64 KiB) and the buffer hold
        let padding = String(repeating: "x", count: 90)
        let finished = DispatchSemaphore(value: 0)
        let writer = Thread {
            for index in 0..<total { output.write(line: "line \(index) \(padding)") }
            finished.signal()
        }
        writer.start()
        let returned = finished.wait(timeout: .now() + 60) == .success
        XCTAssertTrue(returned, "write(line:) blocked on an output nobody reads")
        XCTAssertGreaterThan(output.droppedLines, 0)

        // Read the pipe again: what was buffered is written, then the notice.
        let reader = PipeReader(fileDescriptor: pipe.read)
        if !returned { _ = finished.wait(timeout: .now() + 60) }
        XCTAssertTrue(output.close(timeout: .seconds(30)))
        close(pipe.write)
        let lines = reader.finish().split(separator: "\n", omittingEmptySubsequences: false).dropLast()

        var next = 0
        var dropped = 0
        for line in lines {
            if let count = Self.droppedCount(in: line) {
                dropped += count
                continue
            }
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[0] == "line", let index = Int(fields[1]), fields[2] == padding else {
                XCTFail("torn or garbled line: \(line.prefix(120))")
                return
            }
            XCTAssertGreaterThanOrEqual(index, next, "lines out of order")
            next = index + 1
        }
        XCTAssertGreaterThan(dropped, 0, "no \"log: dropped N lines\" notice")
        XCTAssertEqual(lines.count - lines.filter { Self.droppedCount(in: $0) != nil }.count + dropped, total)
        XCTAssertEqual(output.droppedLines, dropped)
    }

    /// A flood of ordinary lines on a stalled output fills only three quarters of the buffer: the
    /// urgent lines (warnings, refusals) written after it are all kept and written.
    func testAFloodOfOrdinaryLinesNeverDropsAnUrgentOne() throws {
        let pipe = try Pipe.make()
        let output = BufferedTerminalOutput(fileDescriptor: pipe.write, capacity: 64 * 1024)
        let padding = String(repeating: "x", count: 90)
        for index in 0..<20_000 { output.write(line: "info \(index) \(padding)") }
        for index in 0..<50 { output.write(line: "warning \(index) \(padding)", lane: .urgent) }
        XCTAssertGreaterThan(output.droppedLines(in: .ordinary), 0)
        XCTAssertEqual(output.droppedLines(in: .urgent), 0)
        let reader = PipeReader(fileDescriptor: pipe.read)
        XCTAssertTrue(output.close(timeout: .seconds(30)))
        close(pipe.write)
        let warnings = reader.finish().split(separator: "\n").filter { $0.hasPrefix("warning ") }
        XCTAssertEqual(warnings.count, 50)
        XCTAssertEqual(output.droppedLines, output.droppedLines(in: .ordinary))
    }

    func testConcurrentWritersNeverTearLines() throws {
        let pipe = try Pipe.make()
        let output = BufferedTerminalOutput(fileDescriptor: pipe.write, capacity: 256 * 1024)
        let reader = PipeReader(fileDescriptor: pipe.read)
        let threads = 4
        let perThread = 20_000
        let group = DispatchGroup()
        for thread in 0..<threads {
            group.enter()
            Thread {
                let filler = Self.filler(thread: thread)
                for index in 0..<perThread { output.write(line: "t\(thread) \(index) \(filler)") }
                group.leave()
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success)
        XCTAssertTrue(output.close(timeout: .seconds(30)))
        close(pipe.write)
        let text = reader.finish()

        var next = [Int](repeating: 0, count: threads)
        var written = 0
        var dropped = 0
        for line in text.split(separator: "\n") {
            if let count = Self.droppedCount(in: line) {
                dropped += count
                continue
            }
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[0].first == "t", let thread = Int(fields[0].dropFirst()),
                (0..<threads).contains(thread), let index = Int(fields[1]),
                fields[2] == Self.filler(thread: thread)
            else {
                XCTFail("torn line: \(line.prefix(120))")
                return
            }
            XCTAssertGreaterThanOrEqual(index, next[thread], "lines of one thread out of order")
            next[thread] = index + 1
            written += 1
        }
        XCTAssertEqual(written + dropped, threads * perThread)
    }

    func testOutputErrorsCountAsDroppedLines() throws {
        let full = open("/dev/full", O_WRONLY)
        try XCTSkipIf(full < 0, "/dev/full is not available")
        defer { close(full) }
        let output = BufferedTerminalOutput(fileDescriptor: full)
        for index in 0..<10 { output.write(line: "line \(index)") }
        XCTAssertTrue(output.close(timeout: .seconds(10)))
        XCTAssertEqual(output.droppedLines, 10)
    }

    func testALineLargerThanTheBufferIsDroppedAndNoticed() throws {
        let pipe = try Pipe.make()
        let output = BufferedTerminalOutput(fileDescriptor: pipe.write, capacity: 1024)
        let reader = PipeReader(fileDescriptor: pipe.read)
        output.write(line: "before")
        output.write(line: String(repeating: "y", count: 2000))
        XCTAssertTrue(output.flush(timeout: .seconds(10)))
        output.write(line: "after")
        XCTAssertTrue(output.close(timeout: .seconds(10)))
        close(pipe.write)
        let lines = reader.finish().split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines.first, "before")
        XCTAssertEqual(lines.count == 3 ? Self.droppedCount(in: lines[1]) : nil, 1)
        XCTAssertEqual(lines.last, "after")
        XCTAssertEqual(output.droppedLines, 1)
    }

    func testLinesAfterCloseAreDroppedQuietly() throws {
        let pipe = try Pipe.make()
        let output = BufferedTerminalOutput(fileDescriptor: pipe.write)
        output.write(line: "kept")
        XCTAssertTrue(output.close(timeout: .seconds(10)))
        output.write(line: "late")
        close(pipe.write)
        XCTAssertEqual(pipe.readToEnd(), "kept\n")
        XCTAssertEqual(output.droppedLines, 1)
    }

    /// A different letter and length for each writer thread.
    private static func filler(thread: Int) -> String {
        String(repeating: Character(UnicodeScalar(UInt8(ascii: "a") + UInt8(thread))), count: 40 + thread * 13)
    }

    /// N of a `… WARN  log: dropped N lines …` notice, or nil for any other line.
    private static func droppedCount(in line: Substring) -> Int? {
        guard let range = line.range(of: " WARN  log: dropped ") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }
}

/// Both ends of a pipe(2).
private struct Pipe {
    let read: Int32
    let write: Int32

    static func make() throws -> Pipe {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.EMFILE) }
        return Pipe(read: fds[0], write: fds[1])
    }

    /// Everything until the write end is closed (closes the read end).
    func readToEnd() -> String {
        String(decoding: FileHandle(fileDescriptor: read, closeOnDealloc: true).readDataToEndOfFile(), as: UTF8.self)
    }
}

/// Drains a pipe on its own thread until the write end is closed.
private final class PipeReader: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(fileDescriptor: Int32) {
        Thread { [self] in
            data = FileHandle(fileDescriptor: fileDescriptor, closeOnDealloc: true).readDataToEndOfFile()
            done.signal()
        }.start()
    }

    /// The text read, once the write end is closed.
    func finish() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}
