import ChatWire
import XCTest

@testable import GatewayCore

/// The broker link's table of commands waiting for replies, alone: ids, deadlines, joins and replays
/// in flight, and the resend after a failover.
final class PendingRequestsTests: XCTestCase {
    typealias Requests = PendingRequests<String>

    func add(
        _ requests: inout Requests,
        _ body: WireCommand.Body,
        connection: UInt64 = 1,
        waiter: Requests.Waiter = .caller("c"),
        broker: Int = 0,
        now: UInt64 = 0,
        keepsCommand: Bool = false
    ) -> WireCommand {
        requests.add(
            body,
            connectionID: connection,
            client: "10.0.0.1",
            waiter: waiter,
            to: broker,
            epoch: 3,
            now: now,
            timeout: 5_000,
            keepsCommand: keepsCommand
        )
    }

    func testACommandGetsAFreshIDItsSendTimeAndTheTimeoutAsTTLAndDeadline() throws {
        var requests = Requests()
        let first = add(&requests, .leave(room: "r"), now: 100)
        let second = add(&requests, .leave(room: "s"), now: 100)
        XCTAssertNotEqual(first.requestID, 0)
        XCTAssertNotEqual(first.requestID, second.requestID)
        XCTAssertEqual(first.sentAt, 100)
        XCTAssertEqual(first.ttl, 5_000)
        XCTAssertEqual(first.client, "10.0.0.1")
        let request = try XCTUnwrap(requests[first.requestID])
        XCTAssertEqual(request.deadline, 5_100)
        XCTAssertEqual(request.kind, .leave)
        XCTAssertEqual(request.epoch, 3)
        XCTAssertNil(request.command, "kept only for a resend")
        XCTAssertEqual(requests.count, 2)
        XCTAssertEqual(requests.remove(first.requestID)?.kind, .leave)
        XCTAssertNil(requests.remove(first.requestID))
        XCTAssertEqual(requests.count, 1)
    }

    func testExpiredAndSentToListInRequestOrder() {
        var requests = Requests()
        let early = add(&requests, .heartbeat, waiter: .link, broker: 1, now: 0)
        let late = add(&requests, .heartbeat, waiter: .link, broker: 0, now: 10)
        let other = add(&requests, .leave(room: "r"), broker: 1, now: 0)
        XCTAssertEqual(requests.expired(at: 4_999), [])
        XCTAssertEqual(requests.expired(at: 5_000), [early.requestID, other.requestID])
        XCTAssertEqual(requests.expired(at: 5_010), [early.requestID, late.requestID, other.requestID])
        XCTAssertEqual(requests.sent(to: 1), [early.requestID, other.requestID])
        XCTAssertEqual(requests.sent(to: 0), [late.requestID])
    }

    func testAJoinedEventIsNotedOnItsJoinInFlightOnly() {
        var requests = Requests()
        let join = add(&requests, .join(room: "r", password: "pw", name: "ann"), connection: 7)
        XCTAssertFalse(requests.noteJoinedEvent(room: "r", connectionID: 8, seq: 4), "another connection")
        XCTAssertFalse(requests.noteJoinedEvent(room: "s", connectionID: 7, seq: 4), "another room")
        XCTAssertTrue(requests.noteJoinedEvent(room: "r", connectionID: 7, seq: 4))
        XCTAssertEqual(requests[join.requestID]?.joinedSeqSeen, 4)
        _ = requests.remove(join.requestID)
        XCTAssertFalse(requests.noteJoinedEvent(room: "r", connectionID: 7, seq: 5), "answered: no longer in flight")
    }

    func testAReplayEndsOnceAndNotAfterItsRoomForgotIt() {
        var requests = Requests()
        let first = add(&requests, .replay(room: "r", from: 3, to: 9), waiter: .replay(room: "r"))
        XCTAssertTrue(requests.endReplay(first.requestID, of: "r"))
        XCTAssertFalse(requests.endReplay(first.requestID, of: "r"), "once")
        let second = add(&requests, .replay(room: "r", from: 3, to: 9), waiter: .replay(room: "r"))
        requests.forgetReplay(of: "r")
        XCTAssertFalse(
            requests.endReplay(second.requestID, of: "r"),
            "a reply for a replay the room no longer waits for is stale"
        )
        let third = add(&requests, .replay(room: "r", from: 3, to: 9), waiter: .replay(room: "r"))
        XCTAssertFalse(requests.endReplay(second.requestID, of: "r"), "only the latest replay of a room counts")
        XCTAssertTrue(requests.endReplay(third.requestID, of: "r"))
    }

    func testSetAsideKeepsClientCommandsForAResendAndDropsTheLinksOwn() {
        var requests = Requests()
        let message = add(&requests, .message(room: "r", text: "hi", key: "k"), keepsCommand: true)
        let heartbeat = add(&requests, .heartbeat, waiter: .link)
        XCTAssertFalse(requests.hasAwaitingResend)
        XCTAssertNil(requests.setAsideForResend(message.requestID))
        XCTAssertEqual(requests[message.requestID]?.awaitingResend, true)
        XCTAssertTrue(requests.hasAwaitingResend)
        XCTAssertEqual(requests.setAsideForResend(heartbeat.requestID)?.kind, .heartbeat, "removed and returned")
        XCTAssertNil(requests[heartbeat.requestID])
        XCTAssertNil(requests.setAsideForResend(9_999), "unknown: nothing")
    }

    func testResendGoesToTheNewBrokerWithTheTimeLeftAndLosesWhatIsPastItsDeadline() throws {
        var requests = Requests()
        let early = add(&requests, .message(room: "r", text: "a", key: "a"), now: 0, keepsCommand: true)
        let late = add(&requests, .message(room: "r", text: "b", key: "b"), now: 2_000, keepsCommand: true)
        let waiting = add(&requests, .leave(room: "r"), now: 2_000, keepsCommand: true)
        _ = requests.setAsideForResend(early.requestID)
        _ = requests.setAsideForResend(late.requestID)
        let outcomes = requests.resendAwaiting(to: 1, epoch: 9, now: 5_000, restarted: false)
        XCTAssertEqual(outcomes.count, 2, "only those set aside")
        guard case .lost(let lostID, _) = outcomes.first, case .resent(let resent) = outcomes.last else {
            return XCTFail("\(outcomes)")
        }
        XCTAssertEqual(lostID, early.requestID)
        XCTAssertNil(requests[early.requestID])
        XCTAssertEqual(resent.requestID, late.requestID)
        XCTAssertEqual(resent.body, late.body)
        XCTAssertEqual(resent.sentAt, 5_000)
        XCTAssertEqual(resent.ttl, 2_000)
        let request = try XCTUnwrap(requests[late.requestID])
        XCTAssertEqual(request.broker, 1)
        XCTAssertEqual(request.epoch, 9)
        XCTAssertTrue(request.resent)
        XCTAssertFalse(request.awaitingResend)
        XCTAssertFalse(requests.hasAwaitingResend)
        XCTAssertFalse(try XCTUnwrap(requests[waiting.requestID]).resent)
    }

    func testAResendToARestartedBrokerLosesEveryCommand() {
        var requests = Requests()
        let join = add(&requests, .join(room: "r", password: "pw", name: "ann"), now: 0, keepsCommand: true)
        _ = requests.setAsideForResend(join.requestID)
        let outcomes = requests.resendAwaiting(to: 1, epoch: 1, now: 10, restarted: true)
        guard case .lost(let requestID, _)? = outcomes.first, outcomes.count == 1 else { return XCTFail("\(outcomes)") }
        XCTAssertEqual(requestID, join.requestID)
        XCTAssertFalse(requests.noteJoinedEvent(room: "r", connectionID: 1, seq: 2), "its join entry went with it")
    }

    func testRemoveAllEmptiesTheTableInRequestOrder() {
        var requests = Requests()
        let first = add(&requests, .leave(room: "a"))
        _ = add(&requests, .join(room: "r", password: "pw", name: "ann"))
        let replay = add(&requests, .replay(room: "r", from: 1, to: 2), waiter: .replay(room: "r"))
        XCTAssertEqual(requests.removeAll().map(\.kind), [.leave, .join, .replay])
        XCTAssertEqual(requests.count, 0)
        XCTAssertNil(requests[first.requestID])
        XCTAssertFalse(requests.endReplay(replay.requestID, of: "r"))
        XCTAssertFalse(requests.noteJoinedEvent(room: "r", connectionID: 1, seq: 1))
    }
}
