import ChatWire
import RoomBrokerCore
import XCTest

@testable import BrokerStorage

/// `--fsync always`: replies and broadcasts wait, in order, until the disk has the inputs before them;
/// heartbeat replies never wait (held, they would make gateways fail over whenever the disk is slow).
final class DurableGateTests: XCTestCase {
    func reply(_ kind: CommandKind, _ id: UInt8) -> NodeAction {
        .reply(identity: Array("gw".utf8), frame: [1, kind.rawValue, id])
    }

    func testOutputsWaitForTheDiskAndGoOutInOrder() {
        var gate = DurableGate()
        XCTAssertNil(gate.pass(reply(.message, 1), position: 5, durable: 4))
        XCTAssertNil(gate.pass(.publish([[1]]), position: 5, durable: 4))
        // A later output whose input is on disk still waits behind the earlier ones.
        XCTAssertNil(gate.pass(reply(.join, 2), position: 6, durable: 6))
        XCTAssertEqual(gate.release(durable: 5), [reply(.message, 1), .publish([[1]])])
        XCTAssertEqual(gate.release(durable: 6), [reply(.join, 2)])
        XCTAssertEqual(gate.count, 0)
        XCTAssertEqual(gate.pass(reply(.message, 3), position: 7, durable: 7), reply(.message, 3))
    }

    func testHeartbeatAndStatusRepliesNeverWait() {
        var gate = DurableGate()
        XCTAssertNil(gate.pass(reply(.message, 1), position: 5, durable: 0))
        XCTAssertEqual(gate.pass(reply(.heartbeat, 2), position: 6, durable: 0), reply(.heartbeat, 2))
        XCTAssertEqual(gate.pass(reply(.status, 3), position: 6, durable: 0), reply(.status, 3))
        XCTAssertEqual(gate.pass(.toPeer([9]), position: 6, durable: 0), .toPeer([9]))
        XCTAssertEqual(gate.releaseAll(), [reply(.message, 1)])
    }
}
