import XCTest

@testable import ZeroMQ

/// The thread scaffold the broker's loop and the gateway's link share, and readiness by socket.
final class ZMQLoopThreadTests: XCTestCase {
    struct Refused: Error, Equatable {}

    func testStartReturnsOnceReadyAndStopEndsTheBodyThatPolls() async throws {
        let thread = ZMQLoopThread(name: "test-loop")
        let passes = Counter()
        try await thread.start { start in
            start.ready()
            while !thread.isStopRequested {
                passes.add()
                usleep(1_000)
            }
        }
        let deadline = Date().addingTimeInterval(5)
        while passes.value == 0, Date() < deadline { usleep(1_000) }
        XCTAssertGreaterThan(passes.value, 0, "the body runs after start returned")
        thread.requestStop()
        await thread.waitUntilStopped()
        let afterStop = passes.value
        usleep(20_000)
        XCTAssertEqual(passes.value, afterStop, "the body has returned")
        await thread.waitUntilStopped()  // at once when already stopped
    }

    func testAFailedStartThrowsTheBodysError() async {
        let thread = ZMQLoopThread(name: "test-loop")
        do {
            try await thread.start { start in start.failed(Refused()) }
            XCTFail("start returned")
        } catch {
            XCTAssertEqual(error as? Refused, Refused())
        }
        await thread.waitUntilStopped()
    }

    func testABodyThatReturnsWithoutReportingFailsTheStart() async {
        let thread = ZMQLoopThread(name: "test-loop")
        do {
            try await thread.start { _ in }
            XCTFail("start returned")
        } catch {
            XCTAssertTrue(error is ZMQError, "\(error)")
        }
    }

    func testReadinessIsAskedBySocketNotByPosition() throws {
        let context = try ZMQContext()
        let quiet = try context.socket(.pull)
        let busy = try context.socket(.pull)
        let push = try context.socket(.push)
        try quiet.bind("inproc://quiet")
        try busy.bind("inproc://busy")
        try push.connect("inproc://busy")
        var pipe: [Int32] = [0, 0]
        XCTAssertEqual(Foundation.pipe(&pipe), 0)
        defer { for fd in pipe { close(fd) } }
        let poller = ZMQPoller([.socket(quiet), .fileDescriptor(pipe[0]), .socket(busy)])
        XCTAssertTrue(try poller.poll(timeoutMilliseconds: 10).isEmpty)
        try push.send([[7]])
        let readable = try poller.poll(timeoutMilliseconds: 1_000)
        XCTAssertTrue(readable.isReadable(busy))
        XCTAssertFalse(readable.isReadable(quiet))
        XCTAssertFalse(readable.isReadable(fileDescriptor: pipe[0]))
        var byte: UInt8 = 1
        XCTAssertEqual(write(pipe[1], &byte, 1), 1)
        XCTAssertTrue(try poller.poll(timeoutMilliseconds: 1_000).isReadable(fileDescriptor: pipe[0]))
        XCTAssertFalse(readable.isReadable(push), "a socket the poller does not watch is never readable")
        for socket in [quiet, busy, push] { socket.close() }
    }
}

/// A counter the loop's thread adds to and the test reads.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add() { lock.withLock { count += 1 } }
}
