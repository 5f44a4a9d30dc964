import ChatWire
import GatewayTestSupport
import Logging
import NIOCore
import NIOEmbedded
import SocketIO
import XCTest

@testable import GatewayCore

/// A `SocketIOSession`'s joins and leaves against a ``FakeBrokerClient`` answered by hand, with the
/// room events going through the real fan-out on an `EmbeddedChannel`: what the client receives, in
/// which order, and what the link is asked. The ordering under test: a room is followed before its
/// join is sent; the join's ack comes before any event of the room, and only events after the join's
/// seq follow it; nothing of a room is written once its leave is asked, nor after a disconnect.
final class SessionRoomsTests: XCTestCase {
    private var client: EmbeddedGatewayClient!
    private var link: FakeBrokerClient!
    private var rooms: LoopRooms!
    private var fanOut: BroadcastFanOut!

    override func setUpWithError() throws {
        let loop = EmbeddedEventLoop()
        let metrics = GatewayMetrics()
        let fanOut = BroadcastFanOut(group: loop, metrics: metrics)
        self.fanOut = fanOut
        let link = FakeBrokerClient(sink: fanOut)
        self.link = link
        let rooms = fanOut.rooms(on: loop)
        self.rooms = rooms
        client = try EmbeddedGatewayClient(loop: loop) { connection in
            SocketIOSession(
                connection: connection,
                link: link,
                rooms: rooms,
                metrics: metrics,
                logger: Logger(label: "test")
            )
        }
        try client.connect()
        XCTAssertEqual(try received().count, 1, "the open packet")
        try send("40")
        XCTAssertEqual(try received().map { $0.hasPrefix("40{\"sid\"") }, [true])
    }

    override func tearDown() {
        client?.finish()
    }

    // MARK: Helpers

    private var loop: EmbeddedEventLoop { client.channel.embeddedEventLoop }

    private func send(_ text: String) throws {
        try client.send(text)
    }

    /// The texts written to the client since the last call, after running what waits on the loop.
    private func received() throws -> [String] {
        loop.run()
        return try client.texts()
    }

    private func sendJoin(_ room: String, ackID: Int) throws {
        try send(#"42\#(ackID)["join",{"room":"\#(room)","password":"pw","name":"ann"}]"#)
    }

    private func sendLeave(_ room: String, ackID: Int) throws {
        try send(#"42\#(ackID)["leave",{"room":"\#(room)"}]"#)
    }

    private func sendMessage(_ room: String, ackID: Int) throws {
        try send(#"42\#(ackID)["message",{"room":"\#(room)","text":"hi"}]"#)
    }

    /// The command a join of `room` sends.
    private func joinCommand(_ room: String) -> WireCommand.Body {
        .join(room: room, password: "pw", name: "ann")
    }

    /// The broker's answer to a join of `room` at `seq`.
    private func joined(_ room: String, seq: UInt64) -> Result<WireReply.Success, ChatError> {
        .success(WireReply.Success(room: room, seq: seq, json: Array(#"{"room":"\#(room)","seq":\#(seq)}"#.utf8)))
    }

    /// The ack the client gets for a join of `room` at `seq` asked with `ackID`.
    private func joinAck(_ room: String, seq: UInt64, ackID: Int) -> String {
        #"43\#(ackID)[{"room":"\#(room)","seq":\#(seq)}]"#
    }

    /// The `code` of an error ack (nil for any other text).
    private func errorCode(of text: String) throws -> String? {
        guard let bracket = text.firstIndex(of: "[") else { return nil }
        return try JSONValue.parse(text[bracket...])[0]?["code"]?.stringValue
    }

    /// Hands events `seqs` of `room` to the fan-out, as the link does with broadcasts.
    private func broadcast(_ room: String, _ seqs: UInt64...) {
        link.broadcast(seqs.map { RoomBroadcastFrame(room: room, seq: $0, payload: Array(text(room, $0).utf8)) })
    }

    /// The client text of event `seq` of `room`.
    private func text(_ room: String, _ seq: UInt64) -> String {
        #"42["message","\#(room)\#(seq)"]"#
    }

    /// Joins `room` and has the broker confirm it at `seq` (the ack is consumed).
    private func join(_ room: String, seq: UInt64, ackID: Int) throws {
        try sendJoin(room, ackID: ackID)
        XCTAssertTrue(link.answer(joinCommand(room), with: joined(room, seq: seq)))
        XCTAssertEqual(try received(), [joinAck(room, seq: seq, ackID: ackID)])
    }

    // MARK: Joins

    /// A join follows its room before the command goes out; once confirmed the client gets the ack,
    /// then the room's events after the join's seq, and may send to the room.
    func testAJoinFollowsTheRoomBeforeItIsSentThenDeliversTheEventsAfterItsSeq() throws {
        try sendJoin("lobby", ackID: 1)
        XCTAssertEqual(link.calls, [.follow("lobby"), .send(joinCommand("lobby"))])
        XCTAssertEqual(try received(), [], "no ack before the broker answers")
        XCTAssertTrue(link.answer(joinCommand("lobby"), with: joined("lobby", seq: 5)))
        XCTAssertEqual(try received(), [joinAck("lobby", seq: 5, ackID: 1)])

        broadcast("lobby", 5, 6, 7)
        XCTAssertEqual(try received(), [text("lobby", 6), text("lobby", 7)], "the join's own event is not repeated")
        XCTAssertEqual(rooms.memberCounts(), ["lobby": 1])
        try sendMessage("lobby", ackID: 2)
        XCTAssertEqual(link.waiting, [.message(room: "lobby", text: "hi", key: "")])
    }

    /// A refused join is acked with the broker's error; the events held meanwhile are dropped, the
    /// room is unfollowed and no longer wanted by the loop, and the client may try again.
    func testARefusedJoinIsAckedWithItsErrorAndLeavesNothingBehind() throws {
        try sendJoin("lobby", ackID: 1)
        broadcast("lobby", 6)
        XCTAssertEqual(try received(), [])
        link.answer(joinCommand("lobby"), with: .failure(ChatError(.wrongPassword, "wrong password")))
        let answers = try received()
        XCTAssertEqual(answers.count, 1, "\(answers)")
        XCTAssertEqual(try answers.first.flatMap(errorCode(of:)), "wrong_password")
        XCTAssertEqual(link.unfollows, ["lobby"])
        XCTAssertEqual(rooms.memberCounts(), [:])
        XCTAssertFalse(rooms.inbox.withLock { $0.wants("lobby") })

        broadcast("lobby", 7)
        XCTAssertEqual(try received(), [])
        try sendJoin("lobby", ackID: 2)
        XCTAssertEqual(link.waiting, [joinCommand("lobby")], "not 'already in room'")
    }

    /// The join's ack reaches the client before any event of the room, whichever the loop runs
    /// first: a pass with the room's events (held until the ack, then written) or the answer.
    func testTheJoinsAckReachesTheClientBeforeAnyEventOfTheRoom() throws {
        // Events first: the pass runs while the join is pending.
        try sendJoin("lobby", ackID: 1)
        broadcast("lobby", 4, 5, 6, 7)
        XCTAssertEqual(try received(), [], "held while the join is pending")
        link.answer(joinCommand("lobby"), with: joined("lobby", seq: 5))
        XCTAssertEqual(try received(), [joinAck("lobby", seq: 5, ackID: 1), text("lobby", 6), text("lobby", 7)])

        // Answer first: the ack is queued on the loop before the pass.
        try sendJoin("hall", ackID: 2)
        link.answer(joinCommand("hall"), with: joined("hall", seq: 2))
        broadcast("hall", 2, 3)
        XCTAssertEqual(try received(), [joinAck("hall", seq: 2, ackID: 2), text("hall", 3)])
    }

    /// Only the rooms the client is in reach it: not another room's events, nor those of a room whose
    /// join is pending (until its ack).
    func testEventsOfARoomTheClientIsNotYetInAreNotDelivered() throws {
        try join("lobby", seq: 5, ackID: 1)
        try sendJoin("hall", ackID: 2)
        broadcast("den", 1)
        broadcast("hall", 1)
        broadcast("lobby", 6)
        XCTAssertEqual(try received(), [text("lobby", 6)])
        XCTAssertFalse(rooms.inbox.withLock { $0.wants("den") }, "no member of den here: not even queued")
        try sendMessage("hall", ackID: 3)
        XCTAssertEqual(try received().map(errorCode(of:)), ["not_member"], "no message before the join's ack")
    }

    // MARK: Leaves

    /// Nothing of a room is written once the client asked to leave it; the membership goes on the
    /// leave's ack, with the room's follow.
    func testALeaveStopsTheRoomsEventsAtOnceAndDropsTheMembershipOnItsAck() throws {
        try join("lobby", seq: 5, ackID: 1)
        try sendLeave("lobby", ackID: 2)
        XCTAssertEqual(link.waiting, [.leave(room: "lobby")])
        broadcast("lobby", 6)
        XCTAssertEqual(try received(), [], "asked to leave: nothing more")
        try sendMessage("lobby", ackID: 3)
        XCTAssertEqual(try received().map(errorCode(of:)), ["not_member"])
        XCTAssertEqual(rooms.memberCounts(), [:], "a leaving member is not counted")

        link.answer(.leave(room: "lobby"), with: .success(WireReply.Success(room: "lobby", seq: 7)))
        XCTAssertEqual(try received(), ["432[{}]"])
        XCTAssertEqual(link.unfollows, ["lobby"])
        XCTAssertFalse(rooms.inbox.withLock { $0.wants("lobby") })
    }

    /// Another connection took the membership over with its token: the client gets the `removed`
    /// event and nothing more of the room, may not send to it, and may join it again.
    func testAMembershipTakenOverElsewhereGetsRemovedAndNothingMore() throws {
        try join("lobby", seq: 5, ackID: 1)
        let removed = #"42["removed",{"room":"lobby","name":"ann","reason":"taken_over"}]"#
        fanOut.takeOver(room: "lobby", connectionID: client.connection.id + 1, payload: Array(removed.utf8))
        XCTAssertEqual(try received(), [], "another connection's")
        fanOut.takeOver(room: "lobby", connectionID: client.connection.id, payload: Array(removed.utf8))
        XCTAssertEqual(try received(), [removed])
        broadcast("lobby", 6)
        XCTAssertEqual(try received(), [], "out of the room")
        try sendMessage("lobby", ackID: 2)
        XCTAssertEqual(try received().map(errorCode(of:)), ["not_member"])
        XCTAssertEqual(link.unfollows, ["lobby"])
        try join("lobby", seq: 9, ackID: 3)
        broadcast("lobby", 10)
        XCTAssertEqual(try received(), [text("lobby", 10)])
    }

    /// A leave the broker refuses (other than `not_member`) keeps the membership: later events arrive.
    func testARefusedLeaveKeepsTheMembership() throws {
        try join("lobby", seq: 5, ackID: 1)
        try sendLeave("lobby", ackID: 2)
        link.answer(.leave(room: "lobby"), with: .failure(ChatError(.brokerUnavailable, "try again")))
        XCTAssertEqual(try received().map(errorCode(of:)), ["broker_unavailable"])
        broadcast("lobby", 6)
        XCTAssertEqual(try received(), [text("lobby", 6)])
        XCTAssertEqual(link.unfollows, [])
    }

    /// A leave racing its room's join (sent before the join's ack) is refused without reaching the
    /// broker; the join then completes as usual.
    func testALeaveBeforeTheJoinsAckIsRefusedAndTheJoinStillCompletes() throws {
        try sendJoin("lobby", ackID: 1)
        try sendLeave("lobby", ackID: 2)
        XCTAssertEqual(try received().map(errorCode(of:)), ["not_member"])
        XCTAssertEqual(link.sent, [joinCommand("lobby")], "the leave did not go out")
        link.answer(joinCommand("lobby"), with: joined("lobby", seq: 5))
        broadcast("lobby", 6)
        XCTAssertEqual(try received(), [joinAck("lobby", seq: 5, ackID: 1), text("lobby", 6)])
    }

    // MARK: Disconnects

    /// The connection closes while a join is pending: the membership goes at once (the room is
    /// unfollowed, the broker told), and the join's late answer changes nothing.
    func testADisconnectDuringAPendingJoinDropsItAndTheLateAnswerChangesNothing() throws {
        try sendJoin("lobby", ackID: 1)
        try client.channel.close().wait()
        XCTAssertEqual(link.unfollows, ["lobby"])
        XCTAssertEqual(link.sent.last, .disconnect)
        link.answer(joinCommand("lobby"), with: .failure(ChatError(.wrongPassword, "wrong password")))
        loop.run()
        XCTAssertEqual(link.unfollows, ["lobby"], "dropped once")
        XCTAssertEqual(rooms.memberCounts(), [:])
        XCTAssertFalse(rooms.inbox.withLock { $0.wants("lobby") })
    }

    /// After a namespace disconnect (`41`) and a new join of the same room, the first join's late
    /// answer does not touch the second membership.
    func testALateAnswerToAnAbandonedJoinDoesNotTouchTheNextJoinOfTheRoom() throws {
        try sendJoin("lobby", ackID: 1)
        try send("41")
        try send("40")
        _ = try received()
        try sendJoin("lobby", ackID: 2)
        link.answer(joinCommand("lobby"), with: .failure(ChatError(.wrongPassword, "wrong password")))
        XCTAssertEqual(try received().map(errorCode(of:)), ["wrong_password"])
        XCTAssertEqual(link.unfollows, ["lobby"], "the first membership's, at the 41, and only then")
        XCTAssertEqual(rooms.memberCounts(), ["lobby": 1], "the second join is still pending")

        link.answer(joinCommand("lobby"), with: joined("lobby", seq: 8))
        broadcast("lobby", 9)
        XCTAssertEqual(try received(), [joinAck("lobby", seq: 8, ackID: 2), text("lobby", 9)])
    }
}
