import ChatWire
import XCTest

@testable import GatewayCore

/// The broker link following the active broker of a pair (docs/ARCHITECTURE.md, "Following the active
/// broker"), without sockets: which broker each command goes to, when the link fails over, what it
/// resends, and which answers it ignores.
final class BrokerPairFailoverTests: XCTestCase, BrokerLinkStateTesting {
    let instance = "state-1"

    var pair: BrokerLinkConfiguration {
        // swiftlint:disable:next force_try
        var configuration = try! BrokerLinkConfiguration(
            brokers: [
                BrokerEndpoints(commands: "inproc://c0", broadcasts: "inproc://b0"),
                BrokerEndpoints(commands: "inproc://c1", broadcasts: "inproc://b1"),
            ],
            gatewayID: "gw-test"
        )
        configuration.generatedKeyPrefix = "test.k."
        return configuration
    }

    /// A pair link whose hello broker `active` answered at `term` (the other: `not_active`) at `now`.
    func following(_ active: Int, term: UInt64 = 1, now: UInt64 = 0) throws -> State {
        var state = State(configuration: pair)
        let hellos = sends(state.tick(now: now))
        XCTAssertEqual(hellos.map(\.broker), [0, 1], "hello goes to both brokers at the start")
        XCTAssertNil(state.followedBroker)
        for (hello, broker) in hellos where broker != active {
            XCTAssertTrue(
                state.received(failure(hello, .notActive), from: broker, now: now).isEmpty,
                "a standby's refusal changes nothing"
            )
        }
        let hello = try XCTUnwrap(hellos.first { $0.broker == active }?.command)
        let actions = state.received(success(hello, instance: instance, term: term), from: active, now: now)
        XCTAssertEqual(notices(actions), [.followingBroker(index: active, term: term)])
        XCTAssertEqual(state.followedBroker, active)
        XCTAssertEqual(state.registration, .registered)
        return state
    }

    /// Lets broker `from` go silent from `now` until the link fails over; returns the actions of that tick.
    func failOverOnSilence(_ state: inout State, since now: UInt64) -> [State.Action] {
        XCTAssertTrue(notices(state.tick(now: now + 999)).isEmpty, "still within the failover time")
        return state.tick(now: now + 1_000)
    }

    func message(
        _ state: inout State,
        key: String = "k-1",
        caller: String = "m",
        now: UInt64
    ) throws -> (command: WireCommand, broker: Int) {
        let sent = sends(
            state.handle(
                .command(.message(room: "r", text: "hi", key: key), connectionID: 7, client: "", caller: caller),
                now: now
            )
        )
        XCTAssertEqual(sent.count, 1)
        return try XCTUnwrap(sent.first)
    }

    // MARK: Following

    func testCommandsAndHeartbeatsGoOnlyToTheBrokerThatAnsweredSuccessEvery250ms() throws {
        var state = try following(1)
        XCTAssertEqual(try message(&state, now: 10).broker, 1)
        XCTAssertEqual(
            sends(state.tick(now: 250)).map { "\($0.command.body.kind) to \($0.broker)" },
            ["heartbeat to 1"]
        )
        XCTAssertTrue(sends(state.tick(now: 499)).isEmpty)
        XCTAssertEqual(sends(state.tick(now: 500)).map(\.broker), [1])
        XCTAssertEqual(state.followedAnsweredAt, 0)
    }

    func testBroadcastsCountOnlyFromTheFollowedBrokersSubscription() throws {
        var state = try following(0)
        _ = state.handle(.follow("r"), now: 0)
        _ = state.received(head("r", 4), from: 0, now: 0)
        let join = try only(
            sent(
                state.handle(
                    .command(.join(room: "r", password: "pw", name: "ann"), connectionID: 1, client: "", caller: "j"),
                    now: 0
                )
            )
        )
        _ = state.received(success(join, room: "r", seq: 5), from: 0, now: 0)
        XCTAssertTrue(
            delivered(state.received(event("r", 6), from: 1, now: 0)).isEmpty,
            "the standby's SUB is read and dropped"
        )
        XCTAssertEqual(delivered(state.received(event("r", 6), from: 0, now: 0)), [6])
    }

    // MARK: Failing over

    func testSilenceOfTheFollowedBrokerFailsOverWithHelloToTheOtherThenToEachInTurn() throws {
        var state = try following(0)
        // Heartbeats answered until 600; then nothing.
        let beat = try only(sent(state.tick(now: 250)))
        _ = state.received(success(beat, instance: instance, term: 1), from: 0, now: 600)
        XCTAssertTrue(notices(state.tick(now: 1_599)).isEmpty)
        let actions = state.tick(now: 1_600)
        XCTAssertEqual(notices(actions), [.failingOver(from: 0, reason: .silent)])
        XCTAssertEqual(sends(actions).map { "\($0.command.body.kind) to \($0.broker)" }, ["hello to 1"])
        XCTAssertEqual(state.registration, .failingOver)
        XCTAssertNil(state.followedBroker)
        XCTAssertNil(state.followedAnsweredAt, "/healthz is not OK while no active answers")
        XCTAssertTrue(sends(state.tick(now: 1_699)).isEmpty)
        XCTAssertEqual(sends(state.tick(now: 1_700)).map(\.broker), [0])
        XCTAssertEqual(sends(state.tick(now: 1_800)).map(\.broker), [1])
        XCTAssertEqual(sends(state.tick(now: 1_900)).map(\.broker), [0])
    }

    func testNotActiveFromTheFollowedBrokerFailsOverAtOnceAndTheCommandGoesToTheNewActive() throws {
        var state = try following(0)
        let first = try message(&state, now: 100)
        let refused = state.received(failure(first.command, .notActive), from: 0, now: 120)
        XCTAssertEqual(notices(refused), [.failingOver(from: 0, reason: .notActive)])
        XCTAssertTrue(completions(refused).isEmpty, "the command was not applied: it waits for the active")
        let hello = try XCTUnwrap(sends(refused).first { $0.broker == 1 }?.command)
        let followed = state.received(success(hello, instance: instance, term: 2), from: 1, now: 150)
        XCTAssertEqual(notices(followed), [.followingBroker(index: 1, term: 2)])
        let resent = try XCTUnwrap(sends(followed).first)
        XCTAssertEqual(resent.broker, 1)
        XCTAssertEqual(resent.command.body, first.command.body)
        XCTAssertEqual(resent.command.requestID, first.command.requestID)
        XCTAssertEqual(resent.command.sentAt, 150)
        XCTAssertEqual(resent.command.ttl, 4_950, "the time left to the first deadline")
        XCTAssertEqual(
            completions(state.received(success(resent.command, room: "r", seq: 9), from: 1, now: 160))["m"].map {
                try? $0.get().seq
            },
            9
        )
    }

    func testACommandThatCannotBeSentToTheFollowedBrokerFailsOverInsteadOfFailing() throws {
        var state = try following(0)
        let first = try message(&state, now: 100)
        let actions = state.sendFailed(requestID: first.command.requestID, now: 100)
        XCTAssertEqual(notices(actions), [.failingOver(from: 0, reason: .unreachable)])
        XCTAssertTrue(completions(actions).isEmpty)
        let hello = try only(sent(actions))
        let resent = try only(sent(state.received(success(hello, instance: instance, term: 2), from: 1, now: 200)))
        XCTAssertEqual(resent.body, first.command.body)
    }

    func testWaitingCommandsAreResentInOrderNewOnesAreHeldAndLateRepliesOfTheOldBrokerFindNobody() throws {
        var state = try following(0)
        let first = try message(&state, key: "a", caller: "a", now: 10)
        let second = try message(&state, key: "b", caller: "b", now: 20)
        let failover = failOverOnSilence(&state, since: 0)
        let hello = try only(sent(failover))
        XCTAssertTrue(
            state.handle(
                .command(.listRooms(after: "", limit: 5), connectionID: 3, client: "", caller: "c"),
                now: 1_050
            ).isEmpty,
            "held while failing over"
        )
        let followed = state.received(success(hello, instance: instance, term: 2), from: 1, now: 1_080)
        XCTAssertEqual(
            sends(followed).map(\.command.body),
            [first.command.body, second.command.body, .listRooms(after: "", limit: 5)]
        )
        XCTAssertEqual(Set(sends(followed).map(\.broker)), [1])
        XCTAssertTrue(
            state.received(success(first.command, room: "r", seq: 3), from: 0, now: 1_090).isEmpty,
            "the old broker's late reply to a resent command is not its answer"
        )
        let resent = try XCTUnwrap(sends(followed).first?.command)
        XCTAssertNotNil(completions(state.received(success(resent, room: "r", seq: 3), from: 1, now: 1_100))["a"])
    }

    func testAResentCommandStillFailsAtItsFirstDeadline() throws {
        var state = try following(0)
        _ = try message(&state, now: 0)
        _ = failOverOnSilence(&state, since: 0)
        XCTAssertEqual(errorCode(completions(state.tick(now: 5_000))["m"]), .brokerUnavailable)
    }

    func testANewActiveOfAnotherInstanceResynchronisesAndFailsTheWaitingCommands() throws {
        var state = try following(0)
        try joinRoom(&state, broker: 0)
        _ = try message(&state, now: 10)
        let hello = try only(sent(failOverOnSilence(&state, since: 0)))
        let actions = state.received(success(hello, instance: "state-2", term: 1), from: 1, now: 1_050)
        XCTAssertEqual(disconnects(actions), ["r": .brokerRestarted])
        XCTAssertEqual(errorCode(completions(actions)["m"]), .brokerUnavailable)
        XCTAssertTrue(sent(actions).isEmpty, "nothing is resent to a broker that lost every room")
    }

    func testAHeadTheNewActivePublishedBeforeAnsweringHelloStillCounts() throws {
        var state = try following(0)
        try joinRoom(&state, broker: 0)
        let hello = try only(sent(failOverOnSilence(&state, since: 0)))
        // The new active announces each room at its takeover; the link reads it before the reply.
        XCTAssertTrue(state.received(head("r", 7), from: 1, now: 1_040).isEmpty)
        let actions = state.received(success(hello, instance: instance, term: 2), from: 1, now: 1_050)
        let replay = try only(sent(actions))
        XCTAssertEqual(replay.body, .replay(room: "r", from: 6, to: 7), "the events up to the head are replayed")
        XCTAssertEqual(sends(actions).first?.broker, 1)
    }

    // MARK: Fencing

    func testAnAnswerOfADeposedActiveAtALowerTermIsIgnored() throws {
        var state = try following(0, term: 1)
        let first = try only(sent(failOverOnSilence(&state, since: 0)))
        let second = try only(sent(state.tick(now: 1_100)))
        _ = state.received(success(first, instance: instance, term: 2), from: 1, now: 1_150)
        // Broker 0 comes back from a pause still believing it is active.
        let late = state.received(success(second, instance: instance, term: 1), from: 0, now: 1_200)
        XCTAssertEqual(notices(late), [.fencedReplyIgnored(index: 0, term: 1, highestTerm: 2)])
        XCTAssertEqual(state.followedBroker, 1)
    }

    func testAnActiveAtAHigherTermIsFollowedAndTheCommandsSentToTheDeposedOneGoThere() throws {
        var state = try following(0, term: 1)
        let first = try only(sent(failOverOnSilence(&state, since: 0)))
        let second = try only(sent(state.tick(now: 1_100)))
        _ = state.received(success(second, instance: instance, term: 2), from: 0, now: 1_150)
        XCTAssertEqual(state.followedBroker, 0)
        let command = try message(&state, now: 1_160)
        XCTAssertEqual(command.broker, 0)
        let actions = state.received(success(first, instance: instance, term: 3), from: 1, now: 1_170)
        XCTAssertEqual(notices(actions), [.followingBroker(index: 1, term: 3)])
        XCTAssertEqual(sends(actions).map(\.broker), [1])
        XCTAssertEqual(sends(actions).first?.command.body, command.command.body)
    }

    // MARK: Retries applied once

    func testAResentLeaveAnsweredNotMemberCompletesAsSuccess() throws {
        var state = try following(0)
        let leave = try only(
            sent(state.handle(.command(.leave(room: "r"), connectionID: 7, client: "", caller: "l"), now: 10))
        )
        let hello = try only(sent(state.received(failure(leave, .notActive), from: 0, now: 20)))
        let resent = try only(sent(state.received(success(hello, instance: instance, term: 2), from: 1, now: 30)))
        let result = completions(state.received(failure(resent, .notMember), from: 1, now: 40))["l"]
        XCTAssertEqual(try result?.get().json, Array(#"{"room":"r"}"#.utf8))

        let other = try only(
            sent(state.handle(.command(.leave(room: "s"), connectionID: 7, client: "", caller: "l2"), now: 50))
        )
        XCTAssertEqual(
            errorCode(completions(state.received(failure(other, .notMember), from: 1, now: 60))["l2"]),
            .notMember,
            "a leave sent once keeps its not_member"
        )
    }

    func testCommandsWithoutAKeyGetAUniqueGeneratedOneThatTheResendKeeps() throws {
        var state = try following(0)
        let first = try message(&state, key: "", caller: "a", now: 1)
        let second = try message(&state, key: "", caller: "b", now: 2)
        let own = try message(&state, key: "mine", caller: "c", now: 3)
        let create = try only(
            sent(
                state.handle(
                    .command(.create(name: "ann", room: "", key: ""), connectionID: 7, client: "", caller: "d"),
                    now: 4
                )
            )
        )
        let post = try only(
            sent(
                state.handle(
                    .command(
                        .post(room: "r", password: "pw", name: "bot", text: "x", key: ""),
                        connectionID: 0,
                        client: "",
                        caller: "e"
                    ),
                    now: 5
                )
            )
        )
        XCTAssertEqual(first.command.body, .message(room: "r", text: "hi", key: "test.k.1"))
        XCTAssertEqual(second.command.body, .message(room: "r", text: "hi", key: "test.k.2"))
        XCTAssertEqual(own.command.body, .message(room: "r", text: "hi", key: "mine"))
        XCTAssertEqual(create.body, .create(name: "ann", room: "", key: "test.k.3"))
        XCTAssertEqual(post.body, .post(room: "r", password: "pw", name: "bot", text: "x", key: "test.k.4"))
        let hello = try only(sent(failOverOnSilence(&state, since: 0)))
        let resent = sent(state.received(success(hello, instance: instance, term: 2), from: 1, now: 1_050))
        XCTAssertEqual(
            resent.map(\.body),
            [first.command.body, second.command.body, own.command.body, create.body, post.body]
        )
    }

    func testTheDefaultKeyPrefixIsAValidKeyUnguessableAndShortEnough() throws {
        let gatewayID = "gw 'ünïcode' " + BrokerLinkConfiguration.randomGatewayID()
        let one = try BrokerLinkConfiguration(brokers: pair.brokers, gatewayID: gatewayID).generatedKeyPrefix
        let two = try BrokerLinkConfiguration(brokers: pair.brokers, gatewayID: gatewayID).generatedKeyPrefix
        XCTAssertNotEqual(one, two)
        XCTAssertLessThanOrEqual(one.utf8.count, 40)
        let key = one + String(UInt64.max)
        XCTAssertEqual(try FieldValidator.key(key), key)
    }

    // MARK: One broker

    func testOneBrokerNeverFailsOverAndGeneratesNoKeys() throws {
        var state = State(
            configuration: BrokerLinkConfiguration(
                commandsEndpoint: "inproc://c",
                broadcastsEndpoint: "inproc://b",
                gatewayID: "gw"
            )
        )
        let hello = try only(sent(state.tick(now: 0)))
        XCTAssertTrue(state.received(success(hello, instance: instance, term: 1), now: 0).isEmpty)
        let command = try only(
            sent(
                state.handle(
                    .command(.message(room: "r", text: "hi", key: ""), connectionID: 1, client: "", caller: "m"),
                    now: 0
                )
            )
        )
        XCTAssertEqual(command.body, .message(room: "r", text: "hi", key: ""))
        XCTAssertEqual(errorCode(completions(state.received(failure(command, .notActive), now: 10))["m"]), .notActive)
        for now in stride(from: UInt64(100), through: 4_000, by: 100) {
            XCTAssertTrue(notices(state.tick(now: now)).isEmpty)
        }
        XCTAssertEqual(state.followedBroker, 0)
        XCTAssertEqual(state.registration, .registered)
    }

    func testTheConfigurationTakesOneOrTwoBrokers() {
        let broker = BrokerEndpoints(commands: "inproc://c", broadcasts: "inproc://b")
        XCTAssertThrowsError(try BrokerLinkConfiguration(brokers: [], gatewayID: "gw"))
        XCTAssertThrowsError(try BrokerLinkConfiguration(brokers: [broker, broker, broker], gatewayID: "gw")) {
            XCTAssertEqual($0 as? BrokerLinkConfiguration.Invalid, .brokerCount(3))
        }
        XCTAssertEqual(try BrokerLinkConfiguration(brokers: [broker], gatewayID: "gw").heartbeatMilliseconds, 250)
        XCTAssertEqual(
            try BrokerLinkConfiguration(brokers: [broker, broker], gatewayID: "gw").heartbeatMilliseconds,
            250
        )
    }

    // MARK: Helpers

    /// Follows room `r`, confirms its subscription on `broker` and joins connection 1 at seq 5.
    func joinRoom(_ state: inout State, broker: Int) throws {
        _ = state.handle(.follow("r"), now: 0)
        _ = state.received(head("r", 4), from: broker, now: 0)
        let join = try only(
            sent(
                state.handle(
                    .command(.join(room: "r", password: "pw", name: "ann"), connectionID: 1, client: "", caller: "j"),
                    now: 0
                )
            )
        )
        XCTAssertNotNil(completions(state.received(success(join, room: "r", seq: 5), from: broker, now: 0))["j"])
    }
}
