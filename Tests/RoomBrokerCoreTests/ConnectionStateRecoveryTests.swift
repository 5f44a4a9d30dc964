import ChatWire
import RoomBrokerCore
import SocketIO
import XCTest

/// The broker's side of Socket.IO connection-state recovery: the broker-wide gseq, the pid a member
/// keeps, and the `resume` command (docs/PROTOCOL.md, "Connection-state recovery").
final class ConnectionStateRecoveryTests: XCTestCase {
    static let pid = "0123456789abcdef0123456789abcdef"

    /// A broker with a 10 s session grace, `replaySize` kept broadcasts per room, and rooms "lobby" and
    /// "other" that alice (gw-a/1, session ``pid``) and bob (gw-b/2) joined, in that order.
    func makeHarness(replaySize: Int = 256) throws -> EngineHarness {
        try makeHarnessAndPasswords(replaySize: replaySize).harness
    }

    func makeHarnessAndPasswords(replaySize: Int = 256) throws -> (harness: EngineHarness, passwords: [String: String])
    {
        var configuration = RoomRegistryConfiguration()
        configuration.sessionGraceMilliseconds = 10_000
        configuration.replaySize = replaySize
        var harness = EngineHarness(configuration: configuration)
        var passwords: [String: String] = [:]
        for room in ["lobby", "other"] {
            let password = try harness.create(room)
            passwords[room] = password
            XCTAssertNil(
                EngineHarness.failure(
                    harness.send(
                        .join(room: room, password: password, name: "alice", pid: Self.pid),
                        gateway: "gw-a",
                        connection: 1
                    )
                )
            )
            XCTAssertNil(
                EngineHarness.failure(
                    harness.send(.join(room: room, password: password, name: "bob"), gateway: "gw-b", connection: 2)
                )
            )
        }
        return (harness, passwords)
    }

    /// Bob says `text` in `room`; returns the broadcast.
    func say(
        _ text: String,
        in room: String,
        _ harness: inout EngineHarness,
        now: BrokerClock = 1_000
    ) throws -> WireBroadcast {
        let output = harness.send(.message(room: room, text: text, key: ""), gateway: "gw-b", connection: 2, now: now)
        return try XCTUnwrap(output.broadcasts.first)
    }

    func resume(
        since: UInt64?,
        instance: String? = nil,
        _ harness: inout EngineHarness,
        connection: UInt64 = 7,
        now: BrokerClock = 2_000
    ) -> BrokerOutput {
        harness.send(
            .resume(pid: Self.pid, instance: instance ?? harness.engine.instance, since: since),
            gateway: "gw-b",
            connection: connection,
            now: now
        )
    }

    func success(_ output: BrokerOutput, file: StaticString = #filePath, line: UInt = #line) throws -> WireReply.Success
    {
        guard case .success(let success) = output.reply?.result else {
            XCTFail("expected success, got \(String(describing: output.reply))", file: file, line: line)
            throw ChatError(.internalError, "no success")
        }
        return success
    }

    /// The texts of message payloads, and the event names of the others.
    func texts(_ payloads: [[UInt8]]) throws -> [String] {
        try payloads.map { payload in
            let packet = try SocketIOPacket.parse(String(decoding: payload.dropFirst(), as: UTF8.self)[...])
            let name = packet.eventName ?? "?"
            return name == "message"
                ? packet.arguments.first?["text"]?.stringValue ?? "?"
                : "\(name) \(packet.arguments.first?["name"]?.stringValue ?? "")"
        }
    }

    func testEveryRoomEventGetsTheNextBrokerWideNumber() throws {
        var harness = try makeHarness()
        let first = try say("one", in: "lobby", &harness)
        let second = try say("two", in: "other", &harness)
        let left = try XCTUnwrap(harness.send(.leave(room: "lobby"), gateway: "gw-b", connection: 2).broadcasts.first)
        XCTAssertEqual(
            [first.gseq, second.gseq, left.gseq].map { $0 - first.gseq },
            [0, 1, 2],
            "one counter over every room and kind"
        )
        XCTAssertEqual(first.gseq, 5, "four joins came before")
        XCTAssertEqual(harness.engine.registry.gseq, left.gseq)
        let kept = try harness.engine.registry.replay(room: "other", from: 1, to: 3)
        XCTAssertEqual(kept.map(\.gseq), [3, 4, second.gseq], "kept broadcasts keep their gseq for replays")
        XCTAssertEqual(
            harness.engine.subscribed(topic: WireFormat.topic(room: "lobby")).broadcasts.first?.gseq,
            0,
            "a head is no event"
        )
    }

    func testResumeMovesTheSessionHereAndAnswersTheMissedEventsOfEveryRoomInOrder() throws {
        var harness = try makeHarness()
        let seen = try say("seen", in: "lobby", &harness)
        _ = harness.send(.disconnect, gateway: "gw-a", connection: 1, now: 1_100)
        _ = try say("m1", in: "other", &harness, now: 1_200)
        _ = try say("m2", in: "lobby", &harness, now: 1_300)
        _ = try say("m3", in: "other", &harness, now: 1_400)

        let output = resume(since: seen.gseq, &harness)
        let reply = try success(output)
        XCTAssertEqual(
            reply.instance,
            harness.engine.instance,
            "the reply names the broker state the offsets belong to"
        )
        XCTAssertEqual(
            try texts(reply.events.map(\.payload)),
            ["m1", "m2", "m3"],
            "across rooms, in gseq order, none before the offset"
        )
        XCTAssertEqual(reply.events.map(\.gseq), reply.events.map(\.gseq).sorted())
        XCTAssertEqual(output.broadcasts.map(\.room), ["lobby", "other"])
        XCTAssertEqual(
            try texts(output.broadcasts.map(\.payload)),
            ["resumed alice", "resumed alice"],
            "the others see her back, not a departure"
        )
        XCTAssertEqual(output.broadcasts.map(\.gateway), ["gw-b", "gw-b"])
        XCTAssertEqual(output.broadcasts.map(\.connectionID), [7, 7])
        XCTAssertEqual(reply.rooms, output.broadcasts.map { WireReply.RoomPosition(room: $0.room, seq: $0.seq) })

        XCTAssertNil(
            EngineHarness.failure(
                harness.send(.message(room: "lobby", text: "back", key: ""), gateway: "gw-b", connection: 7)
            ),
            "the new connection is the member now"
        )
        XCTAssertEqual(
            harness.engine.registry.rooms["lobby"]?.memberNames(),
            ["alice", "bob"],
            "same member, same place"
        )
        _ = harness.send(.heartbeat, gateway: "gw-a", now: 15_000)
        _ = harness.send(.heartbeat, gateway: "gw-b", now: 15_000)
        XCTAssertEqual(
            harness.engine.tick(now: 15_000).broadcasts.filter { $0.kind == .left },
            [],
            "the old grace entry lapsed"
        )
    }

    func testAMembershipStillOnItsOldConnectionIsMovedAndFenced() throws {
        var harness = try makeHarness()
        let seen = try say("seen", in: "lobby", &harness)
        // gw-a has not noticed yet that alice's socket is gone: the resume comes first.
        let resumed = resume(since: seen.gseq, &harness)
        XCTAssertEqual(try texts(success(resumed).events.map(\.payload)), [])
        // The old connection is told it left the room (its gateway stops writing the room to it).
        let notices = resumed.broadcasts.filter { $0.kind == .takenOver }
        XCTAssertEqual(
            notices.map { "\($0.gateway)/\($0.connectionID)/\($0.room)" },
            ["gw-a/1/lobby", "gw-a/1/other"],
            "each room the session had"
        )
        XCTAssertEqual(
            EngineHarness.failure(
                harness.send(.message(room: "lobby", text: "stale", key: ""), gateway: "gw-a", connection: 1)
            ),
            .notMember,
            "the old connection lost the membership"
        )
        XCTAssertEqual(harness.send(.disconnect, gateway: "gw-a", connection: 1).broadcasts, [])
        XCTAssertNil(
            EngineHarness.failure(
                harness.send(.message(room: "lobby", text: "still in", key: ""), gateway: "gw-b", connection: 7)
            ),
            "the old connection's late disconnect does not touch the resumed session"
        )
    }

    func testWithoutOffsetEverythingSinceTheJoinIsReplayedButNeverTheSessionsOwnResumes() throws {
        var harness = try makeHarness()
        _ = harness.send(.disconnect, gateway: "gw-a", connection: 1, now: 1_100)
        _ = try say("m1", in: "lobby", &harness)
        XCTAssertEqual(
            try texts(success(resume(since: nil, &harness)).events.map(\.payload)),
            ["joined bob", "joined bob", "m1"],
            "a client that saw no event since its joins gets every later one (bob joined after alice)"
        )
        _ = harness.send(.disconnect, gateway: "gw-b", connection: 7, now: 2_100)
        let again = try success(resume(since: nil, &harness, connection: 8, now: 2_200))
        XCTAssertEqual(
            try texts(again.events.map(\.payload)),
            ["joined bob", "joined bob", "m1"],
            "its own resumed events are not replayed to it"
        )
    }

    func testARepeatedResumeFromTheSameConnectionAnswersAgainWithoutNewEvents() throws {
        var harness = try makeHarness()
        let seen = try say("seen", in: "lobby", &harness)
        _ = try say("m1", in: "lobby", &harness)
        let first = resume(since: seen.gseq, &harness)
        let again = resume(since: seen.gseq, &harness)
        XCTAssertEqual(again.broadcasts, [], "no second resumed event")
        XCTAssertEqual(try success(again).events, try success(first).events)
        XCTAssertEqual(try success(again).rooms, try success(first).rooms)
    }

    func testAResumeThatCannotGiveEverythingFailsAndChangesNothing() throws {
        var harness = try makeHarness(replaySize: 4)
        let seen = try say("seen", in: "lobby", &harness)
        _ = harness.send(.disconnect, gateway: "gw-a", connection: 1, now: 1_100)
        for index in 1...5 { _ = try say("m\(index)", in: "lobby", &harness) }
        let lost = resume(since: seen.gseq, &harness)
        XCTAssertEqual(EngineHarness.failure(lost), .replayUnavailable, "m1 is no longer kept: no partial recovery")
        XCTAssertEqual(lost.broadcasts, [])
        XCTAssertEqual(
            EngineHarness.failure(
                harness.send(.message(room: "lobby", text: "x", key: ""), gateway: "gw-b", connection: 7)
            ),
            .notMember,
            "nothing moved"
        )
        XCTAssertEqual(
            EngineHarness.failure(resume(since: seen.gseq, instance: "another", &harness)),
            .replayUnavailable,
            "an offset of another broker state"
        )
        XCTAssertEqual(
            EngineHarness.failure(
                harness.send(
                    .resume(pid: "ffffffffffffffffffffffffffffffff", instance: harness.engine.instance, since: 1),
                    gateway: "gw-b",
                    connection: 7
                )
            ),
            .replayUnavailable,
            "an unknown session"
        )
        XCTAssertEqual(
            EngineHarness.failure(
                harness.send(.resume(pid: "not a pid!", instance: "", since: nil), gateway: "gw-b", connection: 7)
            ),
            .badRequest
        )
        let recent = try say("recent", in: "lobby", &harness)
        XCTAssertNil(
            EngineHarness.failure(resume(since: recent.gseq - 1, &harness)),
            "a recent enough offset still recovers"
        )
    }

    func testTheSessionEndsWithItsMemberships() throws {
        var harness = try makeHarness()
        _ = harness.send(.leave(room: "lobby"), gateway: "gw-a", connection: 1)
        _ = harness.send(.disconnect, gateway: "gw-a", connection: 1, now: 1_000)
        _ = harness.send(.heartbeat, gateway: "gw-b", now: 11_000)
        XCTAssertEqual(
            harness.engine.tick(now: 11_000).broadcasts.map(\.kind).filter { $0 != .head },
            [.left],
            "the grace ended in the other room"
        )
        XCTAssertEqual(EngineHarness.failure(resume(since: nil, &harness, now: 11_100)), .replayUnavailable)
    }

    func testAResumeByNameHandsTheMembershipToTheNewSession() throws {
        var (harness, passwords) = try makeHarnessAndPasswords()
        _ = harness.send(.disconnect, gateway: "gw-a", connection: 1, now: 1_100)
        // A fresh session (say its recovery failed) joins again by name: that membership is its now.
        let other = "fedcba9876543210fedcba9876543210"
        let rejoin = harness.send(
            .join(room: "other", password: try XCTUnwrap(passwords["other"]), name: "alice", pid: other),
            gateway: "gw-b",
            connection: 9
        )
        XCTAssertEqual(try texts(rejoin.broadcasts.map(\.payload)), ["resumed alice"])
        XCTAssertEqual(
            try success(resume(since: nil, &harness)).rooms.map(\.room),
            ["lobby"],
            "the old session keeps only the other room"
        )
        let moved = try success(
            harness.send(.resume(pid: other, instance: "", since: nil), gateway: "gw-b", connection: 10)
        )
        XCTAssertEqual(moved.rooms.map(\.room), ["other"])
        XCTAssertEqual(moved.events, [], "nothing happened in it since that join")
    }
}
