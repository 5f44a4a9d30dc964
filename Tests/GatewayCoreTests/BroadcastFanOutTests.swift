import Foundation
import NIOCore
import NIOPosix
import XCTest

@testable import GatewayCore

final class BroadcastFanOutTests: XCTestCase {
    /// A stalled event loop makes the fan-out report a backlog once `maxQueuedBytes` of frames wait
    /// for it (the link then stops reading broadcasts), and the backlog clears once the loop runs.
    func testAStalledEventLoopIsReportedAsBackloggedUntilItCatchesUp() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let payload = Array("42[]".utf8)
        let frameBytes = WebSocketFrameBuilder.textFrame(payload).readableBytes
        let fanOut = BroadcastFanOut(group: group, metrics: GatewayMetrics(), maxQueuedBytes: 4 * frameBytes)
        let loop = group.next()
        _ = fanOut.rooms(on: loop).inbox.withLock { $0.rooms.insert("r") }  // as if a member of r were on it
        let stall = DispatchSemaphore(value: 0)
        loop.execute { stall.wait() }
        let batch = [RoomBroadcastFrame(room: "r", seq: 1, payload: payload)]
        for _ in 0..<3 { fanOut.deliver(batch) }
        XCTAssertFalse(fanOut.isBacklogged)
        fanOut.deliver(batch)
        XCTAssertTrue(fanOut.isBacklogged)
        stall.signal()
        let deadline = Date().addingTimeInterval(5)
        while fanOut.isBacklogged, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertFalse(fanOut.isBacklogged)
    }
}
