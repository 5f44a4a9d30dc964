import ChatWire
import XCTest

@testable import GatewayCore

/// The broker link's state machine without sockets: each test drives it with requests, replies,
/// broadcasts and ticks at chosen monotonic times and checks the actions it asks for.
final class BrokerLinkStateTests: XCTestCase, BrokerLinkStateTesting {

    let configuration = BrokerLinkConfiguration(
        commandsEndpoint: "inproc://c",
        broadcastsEndpoint: "inproc://b",
        gatewayID: "gw-test"
    )

    // MARK: Helpers (more in BrokerLinkStateTesting)

    /// A state whose hello broker `instance` answered at `now`.
    func registered(instance: String = "inst-1", now: UInt64 = 0) throws -> State {
        var state = State(configuration: configuration)
        let hello = try only(sent(state.tick(now: now)))
        XCTAssertEqual(hello.body, .hello(gatewayName: "gw-test"))
        XCTAssertTrue(state.received(success(hello, instance: instance), now: now).isEmpty)
        XCTAssertEqual(state.registration, .registered)
        return state
    }

    /// Follows `room`, confirms its subscription and joins connection `connection` as `caller` at `seq`.
    func join(_ state: inout State, _ room: String, connection: UInt64, seq: UInt64, now: UInt64 = 0) throws {
        _ = state.handle(.follow(room), now: now)
        _ = state.received(head(room, seq - 1), now: now)
        let join = try only(
            sent(
                state.handle(
                    .command(
                        .join(room: room, password: "pw", name: "n\(connection)"),
                        connectionID: connection,
                        client: "",
                        caller: "join-\(connection)"
                    ),
                    now: now
                )
            )
        )
        let actions = state.received(success(join, room: room, seq: seq), now: now)
        XCTAssertNotNil(completions(actions)["join-\(connection)"])
        XCTAssertEqual(state.feed.expectedSeq(of: room), seq + 1)
    }

    // MARK: Heartbeats and deadlines

    func testSaysHelloEvery100msUntilAnsweredThenHeartbeatsOnTheMonotonicClock() throws {
        var state = State(configuration: configuration)
        let first = try only(sent(state.tick(now: 1_000)))
        XCTAssertEqual(first.body, .hello(gatewayName: "gw-test"))
        XCTAssertEqual(first.sentAt, 1_000)
        XCTAssertEqual(first.ttl, 5_000)
        XCTAssertTrue(sent(state.tick(now: 1_099)).isEmpty)
        XCTAssertEqual(try only(sent(state.tick(now: 1_100))).body, .hello(gatewayName: "gw-test"), "not answered yet")
        _ = state.received(success(first, instance: "inst-1"), now: 1_150)
        XCTAssertEqual(try only(sent(state.tick(now: 1_200))).body, .heartbeat)
        XCTAssertTrue(sent(state.tick(now: 1_449)).isEmpty)
        XCTAssertEqual(try only(sent(state.tick(now: 1_450))).body, .heartbeat, "every 250 ms")
    }

    func testEveryCommandCarriesItsSendTimeAndTheRequestTimeoutAsTTL() throws {
        var state = try registered()
        let command = try only(
            sent(
                state.handle(
                    .command(
                        .message(room: "r", text: "hi", key: "k-1"),
                        connectionID: 7,
                        client: "10.0.0.1",
                        caller: "a"
                    ),
                    now: 4_321
                )
            )
        )
        XCTAssertEqual(command.sentAt, 4_321)
        XCTAssertEqual(command.ttl, 5_000)
        XCTAssertEqual(command.client, "10.0.0.1")
        XCTAssertEqual(command.body, .message(room: "r", text: "hi", key: "k-1"), "the idempotency key passes through")
    }

    func testARequestFailsWhenItsDeadlinePassesAndALateReplyIsIgnored() throws {
        var state = try registered()
        let command = try only(
            sent(
                state.handle(
                    .command(.listRooms(after: "", limit: 0), connectionID: 1, client: "", caller: "a"),
                    now: 10_000
                )
            )
        )
        XCTAssertTrue(completions(state.tick(now: 14_999)).isEmpty)
        let expired = completions(state.tick(now: 15_000))
        XCTAssertEqual(
            expired["a"],
            .failure(ChatError(.brokerUnavailable, "the room broker did not answer in time; try again"))
        )
        XCTAssertTrue(state.received(success(command), now: 15_001).isEmpty, "the late reply finds nobody")
    }

    func testACommandThatCannotBeSentFailsAtOnce() throws {
        var state = try registered()
        let command = try only(
            sent(state.handle(.command(.leave(room: "r"), connectionID: 1, client: "", caller: "a"), now: 0))
        )
        let result = completions(state.sendFailed(requestID: command.requestID, now: 0))["a"]
        XCTAssertEqual(errorCode(result), .brokerUnavailable)
        XCTAssertEqual(state.pendingCount, 0)
    }

    func testCommandsBeforeTheBrokerAnswersHelloWaitForItInsteadOfBeingRefused() throws {
        var state = State(configuration: configuration)
        let hello = try only(sent(state.tick(now: 0)))
        XCTAssertTrue(
            sent(
                state.handle(
                    .command(
                        .post(room: "r", password: "pw", name: "bot", text: "hi", key: ""),
                        connectionID: 1,
                        client: "",
                        caller: "early"
                    ),
                    now: 10
                )
            ).isEmpty,
            "not sent before the broker knows this gateway"
        )
        let flushed = sent(state.received(success(hello, instance: "inst-1"), now: 20))
        XCTAssertEqual(flushed.map(\.body), [.post(room: "r", password: "pw", name: "bot", text: "hi", key: "")])
        XCTAssertEqual(flushed.first?.sentAt, 20, "stamped when it really leaves")

        var silent = State(configuration: configuration)
        _ = silent.tick(now: 0)
        _ = silent.handle(.command(.leave(room: "r"), connectionID: 1, client: "", caller: "late"), now: 0)
        XCTAssertNil(completions(silent.tick(now: 4_999))["late"])
        XCTAssertEqual(
            errorCode(completions(silent.tick(now: 5_000))["late"]),
            .brokerUnavailable,
            "fails at its deadline"
        )
    }

    // MARK: Parking

    func testAJoinWaitsForItsRoomsHeadThenGoesOut() throws {
        var state = try registered()
        XCTAssertEqual(state.handle(.follow("r"), now: 0), [.subscribe("r")])
        XCTAssertEqual(state.handle(.follow("r"), now: 0), [], "counted: subscribed once")
        let join = WireCommand.Body.join(room: "r", password: "pw", name: "ann")
        XCTAssertTrue(
            state.handle(.command(join, connectionID: 1, client: "", caller: "ann"), now: 10).isEmpty,
            "parked"
        )
        XCTAssertEqual(state.parkedCount, 1)
        let released = sent(state.received(head("r", 4), now: 20))
        XCTAssertEqual(try only(released).body, join)
        XCTAssertEqual(released.first?.sentAt, 20, "stamped when it really leaves")
        XCTAssertTrue(state.isLive("r"))
        XCTAssertEqual(state.handle(.unfollow("r"), now: 30), [])
        XCTAssertEqual(state.handle(.unfollow("r"), now: 30), [.unsubscribe("r")])
        XCTAssertFalse(state.isLive("r"))
    }

    func testAParkedJoinGoesOutAnywayWhenTheHeadNeverComes() throws {
        var state = try registered()
        _ = state.handle(.follow("r"), now: 0)
        _ = state.handle(
            .command(.join(room: "r", password: "pw", name: "ann"), connectionID: 1, client: "", caller: "ann"),
            now: 100
        )
        XCTAssertTrue(sent(state.tick(now: 2_099)).filter { $0.body.kind == .join }.isEmpty)
        let actions = state.tick(now: 2_100)
        XCTAssertEqual(notices(actions), [.subscriptionUnconfirmed(room: "r")])
        XCTAssertEqual(sent(actions).map(\.body.kind), [.join])
    }

    func testADisconnectFailsItsConnectionsParkedJoinsBeforeGoingOut() throws {
        var state = try registered()
        _ = state.handle(.follow("r"), now: 0)
        _ = state.handle(
            .command(.join(room: "r", password: "pw", name: "ann"), connectionID: 1, client: "", caller: "ann"),
            now: 0
        )
        _ = state.handle(
            .command(.join(room: "r", password: "pw", name: "bob"), connectionID: 2, client: "", caller: "bob"),
            now: 0
        )
        let actions = state.handle(.command(.disconnect, connectionID: 1, client: "", caller: nil), now: 0)
        XCTAssertEqual(Array(completions(actions).keys), ["ann"])
        XCTAssertEqual(sent(actions).map(\.body), [.disconnect])
        XCTAssertEqual(state.parkedCount, 1, "bob still waits")
    }

    // MARK: Broker restart and unknown gateway

    func testANewBrokerInstanceDisconnectsTheMembersOfEveryFollowedRoom() throws {
        var state = try registered()
        try join(&state, "a", connection: 1, seq: 3)
        try join(&state, "b", connection: 2, seq: 8)
        let heartbeat = try only(sent(state.tick(now: 1_000)))
        let actions = state.received(success(heartbeat, instance: "inst-2"), now: 1_001)
        XCTAssertEqual(disconnects(actions), ["a": .brokerRestarted, "b": .brokerRestarted])
        XCTAssertNil(state.feed.expectedSeq(of: "a"), "the feed is reset: the next join reply sets it")
        XCTAssertFalse(state.isLive("a"), "the new broker's subscription must be confirmed again")
        XCTAssertEqual(state.brokerInstance, "inst-2")
        XCTAssertTrue(
            state.received(success(try only(sent(state.tick(now: 2_000))), instance: "inst-2"), now: 2_001).isEmpty,
            "once"
        )
    }

    func testAnUnknownGatewayReplySaysHelloFailsTheCommandAndResynchronisesOnceAnswered() throws {
        var state = try registered()
        try join(&state, "r", connection: 1, seq: 3)
        let message = try only(
            sent(
                state.handle(
                    .command(.message(room: "r", text: "hi", key: ""), connectionID: 1, client: "", caller: "msg"),
                    now: 100
                )
            )
        )
        let leave = try only(
            sent(state.handle(.command(.leave(room: "r"), connectionID: 1, client: "", caller: "leave"), now: 100))
        )

        let first = state.received(failure(message, .unknownGateway), now: 110)
        XCTAssertEqual(notices(first), [.gatewayUnknown])
        let hello = try only(sent(first))
        XCTAssertEqual(hello.body, .hello(gatewayName: "gw-test"), "hello again at once")
        XCTAssertEqual(
            completions(first)["msg"],
            .failure(
                ChatError(.brokerUnavailable, "the room broker lost contact with this server; try again in a moment")
            )
        )
        XCTAssertEqual(state.registration, .reregistering)
        XCTAssertTrue(disconnects(first).isEmpty, "members are told once the broker answers the hello")

        let second = state.received(failure(leave, .unknownGateway), now: 111)
        XCTAssertTrue(
            sent(second).isEmpty,
            "the other commands sent before the hello say the same and change nothing more"
        )
        XCTAssertEqual(errorCode(completions(second)["leave"]), .brokerUnavailable)
        XCTAssertEqual(
            sent(state.tick(now: 210)).map(\.body),
            [.hello(gatewayName: "gw-test")],
            "hello repeats until answered"
        )

        let answered = state.received(success(hello, instance: "inst-1"), now: 220)
        XCTAssertEqual(disconnects(answered), ["r": .gatewayForgotten])
        XCTAssertEqual(state.registration, .registered)
        XCTAssertNil(state.feed.expectedSeq(of: "r"))
        XCTAssertTrue(state.isLive("r"), "the subscription itself still stands")
        XCTAssertEqual(
            sent(
                state.handle(
                    .command(.join(room: "r", password: "pw", name: "ann"), connectionID: 5, client: "", caller: "j"),
                    now: 230
                )
            ).map(\.body.kind),
            [.join],
            "a rejoin goes out at once"
        )
    }

    func testAnUnknownGatewayAnsweredByANewInstanceSaysTheBrokerRestarted() throws {
        var state = try registered()
        try join(&state, "r", connection: 1, seq: 3)
        let heartbeat = try only(sent(state.tick(now: 1_000)))
        let hello = try only(sent(state.received(failure(heartbeat, .unknownGateway), now: 1_001)))
        XCTAssertEqual(
            disconnects(state.received(success(hello, instance: "inst-2"), now: 1_002)),
            ["r": .brokerRestarted]
        )
    }

    func testTheBrokerForgettingTheGatewayAgainLaterIsNoticedAgain() throws {
        var state = try registered()
        try join(&state, "r", connection: 1, seq: 3)
        let heartbeat = try only(sent(state.tick(now: 1_000)))
        let hello = try only(sent(state.received(failure(heartbeat, .unknownGateway), now: 1_001)))
        _ = state.received(success(hello, instance: "inst-1"), now: 1_002)
        let later = try only(sent(state.tick(now: 2_000)))
        XCTAssertEqual(later.body, .heartbeat)
        XCTAssertEqual(notices(state.received(failure(later, .unknownGateway), now: 2_001)), [.gatewayUnknown])
    }

    // MARK: Replay

    func testAReplayAnsweredInChunksAsksForTheRestAndHoldsLaterBroadcasts() throws {
        var state = try registered()
        try join(&state, "r", connection: 1, seq: 1)
        XCTAssertEqual(delivered(state.received(event("r", 2), now: 0)), [2])
        let gap = state.received(event("r", 10), now: 0)
        XCTAssertEqual(notices(gap), [.gap(room: "r", from: 3, to: 9)])
        let replay = try only(sent(gap))
        XCTAssertEqual(replay.body, .replay(room: "r", from: 3, to: 9))
        XCTAssertTrue(state.received(event("r", 11), now: 0).isEmpty, "held behind the gap")
        let firstChunk = state.received(success(replay, room: "r", events: [3, 4, 5]), now: 0)
        XCTAssertEqual(delivered(firstChunk), [3, 4, 5])
        let rest = try only(sent(firstChunk))
        XCTAssertEqual(rest.body, .replay(room: "r", from: 6, to: 9))
        XCTAssertEqual(
            delivered(state.received(success(rest, room: "r", events: [6, 7, 8, 9]), now: 0)),
            [6, 7, 8, 9, 10, 11]
        )
        XCTAssertEqual(state.feed.expectedSeq(of: "r"), 12)
    }

    func testAQuietRoomsHeadBeyondWhatArrivedIsReplayedInChunksToo() throws {
        var state = try registered()
        try join(&state, "r", connection: 1, seq: 4)
        let replay = try only(sent(state.received(head("r", 9), now: 0)))
        XCTAssertEqual(replay.body, .replay(room: "r", from: 5, to: 9))
        let chunk = state.received(success(replay, room: "r", events: [5, 6]), now: 0)
        XCTAssertEqual(delivered(chunk), [5, 6])
        XCTAssertEqual(try only(sent(chunk)).body, .replay(room: "r", from: 7, to: 9))
    }

    func testOnlyReplayUnavailableDisconnectsTheRoomsMembers() throws {
        var state = try registered()
        try join(&state, "r", connection: 1, seq: 1)
        let replay = try only(sent(state.received(event("r", 5), now: 0)))
        let actions = state.received(failure(replay, .replayUnavailable), now: 0)
        XCTAssertEqual(notices(actions), [.replayFailed(room: "r", code: .replayUnavailable)])
        XCTAssertEqual(disconnects(actions), ["r": .eventsLost])
        XCTAssertEqual(delivered(actions), [5], "the feed moves on past the gap")
    }

    func testAReplayReplyForAFeedResetSinceIsIgnored() throws {
        var state = try registered()
        try join(&state, "r", connection: 1, seq: 1)
        let replay = try only(sent(state.received(event("r", 5), now: 0)))
        _ = state.handle(.unfollow("r"), now: 0)
        try join(&state, "r", connection: 2, seq: 7)
        XCTAssertTrue(state.received(success(replay, room: "r", events: [2, 3, 4]), now: 0).isEmpty)
        XCTAssertEqual(state.feed.expectedSeq(of: "r"), 8)
    }

    // MARK: Room re-created under the same name

    func testAJoinReplyBelowWhatArrivedWithoutItsOwnJoinedEventRestartsTheFeed() throws {
        var state = try registered()
        try join(&state, "r", connection: 1, seq: 40)
        XCTAssertEqual(delivered(state.received(event("r", 41), now: 0)), [41])
        // The room was deleted and created again; a new member joins at seq 2 of the new room.
        let join = try only(
            sent(
                state.handle(
                    .command(.join(room: "r", password: "pw", name: "bob"), connectionID: 2, client: "", caller: "bob"),
                    now: 0
                )
            )
        )
        let actions = state.received(success(join, room: "r", seq: 2), now: 0)
        XCTAssertEqual(notices(actions), [.roomRenumbered(room: "r", previous: 42, seq: 3)])
        XCTAssertEqual(delivered(state.received(event("r", 3), now: 0)), [3], "not dropped as a duplicate")
    }

    func testItsOwnJoinedEventBelowWhatArrivedRestartsTheFeedToo() throws {
        var state = try registered()
        try join(&state, "r", connection: 1, seq: 40)
        let join = try only(
            sent(
                state.handle(
                    .command(.join(room: "r", password: "pw", name: "bob"), connectionID: 2, client: "", caller: "bob"),
                    now: 0
                )
            )
        )
        let joined = state.received(event("r", 2, kind: .joined, gateway: "gw-test", connection: 2), now: 0)
        XCTAssertEqual(notices(joined), [.roomRenumbered(room: "r", previous: 41, seq: 2)])
        XCTAssertEqual(delivered(joined), [2])
        XCTAssertTrue(notices(state.received(success(join, room: "r", seq: 2), now: 0)).isEmpty, "restarted once")
        XCTAssertEqual(state.feed.expectedSeq(of: "r"), 3)
    }

    func testAJoinReplyBelowWhatArrivedAfterItsOwnJoinedEventIsTheUsualOrder() throws {
        var state = try registered()
        try join(&state, "r", connection: 1, seq: 40)
        let join = try only(
            sent(
                state.handle(
                    .command(.join(room: "r", password: "pw", name: "bob"), connectionID: 2, client: "", caller: "bob"),
                    now: 0
                )
            )
        )
        XCTAssertEqual(
            delivered(state.received(event("r", 41, kind: .joined, gateway: "gw-test", connection: 2), now: 0)),
            [41]
        )
        XCTAssertEqual(delivered(state.received(event("r", 42), now: 0)), [42])
        let actions = state.received(success(join, room: "r", seq: 41), now: 0)
        XCTAssertTrue(notices(actions).isEmpty)
        XCTAssertEqual(state.feed.expectedSeq(of: "r"), 43)
        XCTAssertTrue(
            state.received(event("r", 41, kind: .joined, gateway: "gw-other", connection: 2), now: 0).isEmpty,
            "another gateway's old event is a duplicate"
        )
    }

    // MARK: Stopping

    func testShutdownSendsTheQueuedDisconnectsAndFailsEverythingElse() throws {
        var state = try registered()
        _ = state.handle(.follow("r"), now: 0)
        _ = state.handle(
            .command(.join(room: "r", password: "pw", name: "ann"), connectionID: 1, client: "", caller: "parked"),
            now: 0
        )
        _ = state.handle(
            .command(.listRooms(after: "", limit: 0), connectionID: 2, client: "", caller: "waiting"),
            now: 0
        )
        let actions = state.shutdown(
            [
                .command(.disconnect, connectionID: 3, client: "", caller: nil),
                .command(.message(room: "r", text: "late", key: ""), connectionID: 4, client: "", caller: "queued"),
                .unfollow("r"),
            ],
            now: 0
        )
        XCTAssertEqual(sent(actions).map(\.body), [.disconnect])
        XCTAssertEqual(Set(completions(actions).keys), ["parked", "waiting", "queued"])
        XCTAssertTrue(completions(actions).values.allSatisfy { errorCode($0) == .brokerUnavailable })
        XCTAssertEqual(state.parkedCount, 0)
    }

    func testGatewayIDsCarry128RandomBits() {
        let id = BrokerLinkConfiguration.randomGatewayID()
        XCTAssertTrue(id.hasPrefix("gw-"))
        XCTAssertEqual(id.count, 3 + 32)
        XCTAssertTrue(id.dropFirst(3).allSatisfy(\.isHexDigit))
        XCTAssertNotEqual(id, BrokerLinkConfiguration.randomGatewayID())
    }
}
