@testable import GatewayCore
import XCTest

final class RoomFeedTests: XCTestCase {
    func payload(_ seq: UInt64) -> [UInt8] { Array("e\(seq)".utf8) }

    func delivered(_ actions: [RoomFeed.Action]) -> [UInt64] {
        actions.compactMap { if case .deliver(_, let seq, _) = $0 { return seq } else { return nil } }
    }

    func testHoldsUntilTheJoinReplyThenDeliversWhatFollowsIt() {
        var feed = RoomFeed()
        feed.follow("r")
        XCTAssertEqual(feed.receive(room: "r", seq: 5, payload: payload(5)), [])
        XCTAssertEqual(feed.receive(room: "r", seq: 6, payload: payload(6)), [])
        XCTAssertEqual(delivered(feed.joined("r", seq: 5)), [6], "the joined event itself and older ones are not delivered")
        XCTAssertEqual(delivered(feed.receive(room: "r", seq: 7, payload: payload(7))), [7])
    }

    func testAGapAsksForAReplayAndHoldsLaterEvents() {
        var feed = RoomFeed()
        feed.follow("r")
        _ = feed.joined("r", seq: 1)
        XCTAssertEqual(delivered(feed.receive(room: "r", seq: 2, payload: payload(2))), [2])
        XCTAssertEqual(feed.receive(room: "r", seq: 5, payload: payload(5)), [.requestReplay(room: "r", from: 3, to: 4)])
        XCTAssertEqual(feed.receive(room: "r", seq: 6, payload: payload(6)), [], "one replay at a time")
        let actions = feed.replayed(room: "r", events: [(3, payload(3)), (4, payload(4))])
        XCTAssertEqual(actions, [3, 4, 5, 6].map { .deliver(room: "r", seq: $0, payload: payload($0)) })
        XCTAssertEqual(feed.expectedSeq(of: "r"), 7)
    }

    func testDuplicatesAreDropped() {
        var feed = RoomFeed()
        feed.follow("r")
        _ = feed.joined("r", seq: 3)
        XCTAssertEqual(delivered(feed.receive(room: "r", seq: 4, payload: payload(4))), [4])
        XCTAssertEqual(feed.receive(room: "r", seq: 4, payload: payload(4)), [])
        XCTAssertEqual(feed.receive(room: "r", seq: 2, payload: payload(2)), [])
    }

    func testAFailedReplayAsksMembersToResyncAndMovesOn() {
        var feed = RoomFeed()
        feed.follow("r")
        _ = feed.joined("r", seq: 1)
        _ = feed.receive(room: "r", seq: 9, payload: payload(9))
        let actions = feed.replayFailed(room: "r")
        XCTAssertEqual(actions.first, .resync(room: "r"))
        XCTAssertEqual(delivered(actions), [9])
        XCTAssertEqual(feed.expectedSeq(of: "r"), 10)
    }

    func testLaterJoinRepliesDoNotMoveTheCursor() {
        var feed = RoomFeed()
        feed.follow("r")
        _ = feed.joined("r", seq: 3)
        _ = feed.receive(room: "r", seq: 4, payload: payload(4))
        XCTAssertEqual(feed.joined("r", seq: 10), [])
        XCTAssertEqual(feed.expectedSeq(of: "r"), 5)
    }

    func testUnfollowedRoomsAreIgnoredAndHoldingIsBounded() {
        var feed = RoomFeed(holdLimit: 3)
        XCTAssertEqual(feed.receive(room: "x", seq: 1, payload: payload(1)), [])
        feed.follow("r")
        for seq in 1...3 { XCTAssertEqual(feed.receive(room: "r", seq: UInt64(seq), payload: payload(UInt64(seq))), []) }
        XCTAssertEqual(feed.receive(room: "r", seq: 4, payload: payload(4)), [.resync(room: "r")])
        feed.forget("r")
        XCTAssertFalse(feed.follows("r"))
    }

    func testAnAnnouncedHeadBeyondWhatArrivedAsksForTheMissingTail() {
        var feed = RoomFeed()
        feed.follow("r")
        XCTAssertEqual(feed.announced(room: "r", lastSeq: 9), [], "nothing to compare with before the join reply")
        _ = feed.joined("r", seq: 4)
        XCTAssertEqual(feed.announced(room: "r", lastSeq: 4), [], "caught up")
        XCTAssertEqual(feed.announced(room: "r", lastSeq: 6), [.requestReplay(room: "r", from: 5, to: 6)])
        XCTAssertEqual(feed.announced(room: "r", lastSeq: 6), [], "one replay at a time")
        XCTAssertEqual(delivered(feed.replayed(room: "r", events: [(5, payload(5)), (6, payload(6))])), [5, 6])
    }
}
