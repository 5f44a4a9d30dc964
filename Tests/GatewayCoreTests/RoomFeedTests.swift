import XCTest

@testable import GatewayCore

final class RoomFeedTests: XCTestCase {
    func payload(_ seq: UInt64) -> [UInt8] { Array("e\(seq)".utf8) }

    /// A feed following `r` whose join reply said `seq`.
    func feed(joinedAt seq: UInt64, holdLimit: Int = 10_000) -> RoomFeed {
        var feed = RoomFeed(holdLimit: holdLimit)
        feed.follow("r")
        _ = feed.joined("r", seq: seq)
        return feed
    }

    func delivered(_ actions: [RoomFeed.Action]) -> [UInt64] {
        actions.compactMap { if case .deliver(_, let seq, _, _) = $0 { return seq } else { return nil } }
    }

    func testHoldsUntilTheJoinReplyThenDeliversWhatFollowsIt() {
        var feed = RoomFeed()
        feed.follow("r")
        XCTAssertEqual(feed.receive(room: "r", seq: 5, payload: payload(5)), [])
        XCTAssertEqual(feed.receive(room: "r", seq: 6, payload: payload(6)), [])
        XCTAssertEqual(
            delivered(feed.joined("r", seq: 5)),
            [6],
            "the joined event itself and older ones are not delivered"
        )
        XCTAssertEqual(delivered(feed.receive(room: "r", seq: 7, payload: payload(7))), [7])
    }

    func testAGapAsksForAReplayAndHoldsLaterEvents() {
        var feed = self.feed(joinedAt: 1)
        XCTAssertEqual(delivered(feed.receive(room: "r", seq: 2, payload: payload(2))), [2])
        XCTAssertEqual(
            feed.receive(room: "r", seq: 5, payload: payload(5)),
            [.requestReplay(room: "r", from: 3, to: 4)]
        )
        XCTAssertEqual(feed.receive(room: "r", seq: 6, payload: payload(6)), [], "one replay at a time")
        let actions = feed.replayed(room: "r", events: [(3, 0, payload(3)), (4, 0, payload(4))])
        XCTAssertEqual(actions, [3, 4, 5, 6].map { .deliver(room: "r", seq: $0, payload: payload($0)) })
        XCTAssertEqual(feed.expectedSeq(of: "r"), 7)
    }

    func testDuplicatesAreDropped() {
        var feed = self.feed(joinedAt: 3)
        XCTAssertEqual(delivered(feed.receive(room: "r", seq: 4, payload: payload(4))), [4])
        XCTAssertEqual(feed.receive(room: "r", seq: 4, payload: payload(4)), [])
        XCTAssertEqual(feed.receive(room: "r", seq: 2, payload: payload(2)), [])
    }

    func testAFailedReplayAsksMembersToResyncAndMovesOn() {
        var feed = self.feed(joinedAt: 1)
        _ = feed.receive(room: "r", seq: 9, payload: payload(9))
        let actions = feed.replayFailed(room: "r")
        XCTAssertEqual(actions.first, .resync(room: "r"))
        XCTAssertEqual(delivered(actions), [9])
        XCTAssertEqual(feed.expectedSeq(of: "r"), 10)
    }

    func testLaterJoinRepliesDoNotMoveTheCursor() {
        var feed = self.feed(joinedAt: 3)
        _ = feed.receive(room: "r", seq: 4, payload: payload(4))
        XCTAssertEqual(feed.joined("r", seq: 10), [])
        XCTAssertEqual(feed.expectedSeq(of: "r"), 5)
    }

    func testUnfollowedRoomsAreIgnoredAndHoldingIsBounded() {
        var feed = RoomFeed(holdLimit: 3)
        XCTAssertEqual(feed.receive(room: "x", seq: 1, payload: payload(1)), [])
        feed.follow("r")
        for seq in 1...3 {
            XCTAssertEqual(feed.receive(room: "r", seq: UInt64(seq), payload: payload(UInt64(seq))), [])
        }
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
        XCTAssertEqual(delivered(feed.replayed(room: "r", events: [(5, 0, payload(5)), (6, 0, payload(6))])), [5, 6])
    }

    func testAReplayAnsweredWithAPrefixAsksForTheRestAndKeepsHolding() {
        var feed = self.feed(joinedAt: 1)
        XCTAssertEqual(
            feed.receive(room: "r", seq: 10, payload: payload(10)),
            [.requestReplay(room: "r", from: 2, to: 9)]
        )
        XCTAssertEqual(feed.receive(room: "r", seq: 11, payload: payload(11)), [])
        let first = feed.replayed(room: "r", events: [(2, 0, payload(2)), (3, 0, payload(3))])
        XCTAssertEqual(
            first,
            [
                .deliver(room: "r", seq: 2, payload: payload(2)), .deliver(room: "r", seq: 3, payload: payload(3)),
                .requestReplay(room: "r", from: 4, to: 9),
            ]
        )
        XCTAssertEqual(
            delivered(feed.replayed(room: "r", events: (4...9).map { ($0, 0, payload($0)) })),
            [4, 5, 6, 7, 8, 9, 10, 11]
        )
    }

    func testAnAnnouncedTailReplayedInChunksIsAskedForUntilComplete() {
        var feed = self.feed(joinedAt: 4)
        XCTAssertEqual(feed.announced(room: "r", lastSeq: 9), [.requestReplay(room: "r", from: 5, to: 9)])
        XCTAssertEqual(
            feed.replayed(room: "r", events: [(5, 0, payload(5)), (6, 0, payload(6))]).last,
            .requestReplay(room: "r", from: 7, to: 9)
        )
        XCTAssertEqual(
            delivered(feed.replayed(room: "r", events: [(7, 0, payload(7)), (8, 0, payload(8)), (9, 0, payload(9))])),
            [7, 8, 9]
        )
        XCTAssertFalse(feed.isReplaying("r"))
        XCTAssertEqual(delivered(feed.receive(room: "r", seq: 10, payload: payload(10))), [10])
    }

    func testAReplayThatFillsNothingCountsAsFailed() {
        var feed = self.feed(joinedAt: 1)
        _ = feed.receive(room: "r", seq: 5, payload: payload(5))
        let actions = feed.replayed(room: "r", events: [])
        XCTAssertEqual(actions.first, .resync(room: "r"), "nothing came: no endless asking")
        XCTAssertEqual(delivered(actions), [5])
        XCTAssertEqual(feed.expectedSeq(of: "r"), 6)
        _ = feed.receive(room: "r", seq: 9, payload: payload(9))
        let partial = feed.replayed(room: "r", events: [(7, 0, payload(7)), (8, 0, payload(8))])
        XCTAssertEqual(partial.first, .resync(room: "r"), "seq 6 is gone")
        XCTAssertEqual(delivered(partial), [7, 8, 9])
    }

    func testAFailedTailReplayMovesPastTheTail() {
        var feed = self.feed(joinedAt: 4)
        _ = feed.announced(room: "r", lastSeq: 9)
        XCTAssertEqual(feed.replayFailed(room: "r"), [.resync(room: "r")])
        XCTAssertEqual(feed.expectedSeq(of: "r"), 10)
    }

    func testARestartedRoomIsFollowedUnderItsNewNumbering() {
        var feed = self.feed(joinedAt: 40)
        _ = feed.receive(room: "r", seq: 45, payload: payload(45))
        feed.restart("r", expecting: 3)
        XCTAssertFalse(feed.isReplaying("r"), "the old gap is forgotten")
        XCTAssertEqual(delivered(feed.receive(room: "r", seq: 3, payload: payload(3))), [3])
        feed.reset("r")
        XCTAssertNil(feed.expectedSeq(of: "r"), "reset: the next join reply decides")
        XCTAssertTrue(feed.follows("r"))
    }

    func testAnAbandonedReplayIsAskedForAgainAtTheNextBroadcast() {
        var feed = self.feed(joinedAt: 1)
        _ = feed.receive(room: "r", seq: 5, payload: payload(5))
        feed.abandonReplay("r")
        XCTAssertEqual(
            feed.receive(room: "r", seq: 6, payload: payload(6)),
            [.requestReplay(room: "r", from: 2, to: 4)]
        )
    }
}
