import Foundation
import XCTest

@testable import ZeroMQ

final class ZMQConnectionMonitorTests: XCTestCase {
    /// Polls `body` every 10 ms for up to 5 s until it returns non-nil.
    private func eventually<T>(_ what: String, _ body: () throws -> T?) throws -> T {
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if let value = try body() { return value }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw XCTSkip("timed out waiting for \(what)")
    }

    func testAClosedPeerIsNamedByItsConnection() throws {
        let context = try ZMQContext()
        let router = try context.socket(.router)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try XCTUnwrap(router.lastEndpoint)
        let monitor = try ZMQConnectionMonitor(router, name: "test-closed", context: context)
        var peers = ZMQPeerConnections()
        var events: [ZMQConnectionEvent] = []

        let dealer = try context.socket(.dealer)
        try dealer.set(.routingID(Array("gw-1".utf8)))
        try dealer.connect(endpoint)
        try dealer.send([Array("hello".utf8)])
        let (frames, connection) = try eventually("the dealer's message") {
            try router.receiveWithConnection(dontWait: true)
        }
        XCTAssertEqual(frames, [Array("gw-1".utf8), Array("hello".utf8)])
        XCTAssertGreaterThanOrEqual(connection.descriptor, 0)
        peers.heard(frames[0], on: connection)
        events += try monitor.events()
        XCTAssertEqual(peers.apply(events), [])
        XCTAssertEqual(events, [.accepted(connection)])

        dealer.close()
        let closed = try eventually("the disconnect event") { () -> [[UInt8]]? in
            let batch = try monitor.events()
            events += batch
            let closed = peers.apply(batch)
            return closed.isEmpty ? nil : closed
        }
        XCTAssertEqual(closed, [Array("gw-1".utf8)])
        XCTAssertEqual(events.last, .disconnected(connection))
        monitor.close()
        router.close()
    }

    func testACloseAndAReuseInOneBatchNameNobody() {
        var peers = ZMQPeerConnections()
        let connection = ZMQConnection(descriptor: 7)
        peers.heard(Array("new".utf8), on: connection)
        XCTAssertEqual(peers.apply([.disconnected(connection), .accepted(connection)]), [])
        XCTAssertEqual(peers.count, 0)
    }

    func testAPeerHeardOnAnotherConnectionIsNotGone() {
        var peers = ZMQPeerConnections()
        peers.heard(Array("gw".utf8), on: ZMQConnection(descriptor: 7))
        peers.heard(Array("gw".utf8), on: ZMQConnection(descriptor: 9))
        XCTAssertEqual(peers.apply([.disconnected(ZMQConnection(descriptor: 7))]), [])
        XCTAssertEqual(peers.apply([.disconnected(ZMQConnection(descriptor: 9))]), [Array("gw".utf8)])
    }

    func testEventFramesDecode() {
        var frame = [UInt8](repeating: 0, count: 6)
        withUnsafeBytes(of: UInt16(0x0200)) { frame.replaceSubrange(0..<2, with: $0) }
        withUnsafeBytes(of: UInt32(12)) { frame.replaceSubrange(2..<6, with: $0) }
        XCTAssertEqual(
            ZMQConnectionMonitor.decode([frame, Array("tcp://x".utf8)]),
            .disconnected(ZMQConnection(descriptor: 12))
        )
        XCTAssertNil(ZMQConnectionMonitor.decode([[1, 2, 3]]))
    }
}
