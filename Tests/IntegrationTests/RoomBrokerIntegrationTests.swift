import ChatWire
import Foundation
import SocketIO
import XCTest
import ZeroMQ

/// Starts the real `RoomBroker` executable and drives it over real ZeroMQ sockets as gateways.
final class RoomBrokerIntegrationTests: XCTestCase {
    var broker: ServerProcess!
    var context: ZMQContext!
    var commandsEndpoint = ""
    var broadcastsEndpoint = ""

    override func setUpWithError() throws {
        commandsEndpoint = "tcp://127.0.0.1:\(ServerProcess.freePort())"
        broadcastsEndpoint = "tcp://127.0.0.1:\(ServerProcess.freePort())"
        broker = try ServerProcess(
            executable: "RoomBroker",
            arguments: ["--commands", commandsEndpoint, "--broadcasts", broadcastsEndpoint, "--insecure-loopback"]
                + (Self.extraArguments.first { name.contains($0.key) }?.value ?? []),
            logName: "broker-\(name.filter { $0.isLetter || $0.isNumber })"
        )
        XCTAssertTrue(broker.waitForOutput(containing: "listening"), "broker did not start:\n\(broker.output)")
        context = try ZMQContext()
    }

    /// Broker options for single tests, by test method name.
    /// (Only where needed: a gateway silent for longer than --gateway-timeout must say hello again.)
    static let extraArguments: [String: [String]] = [
        // The silent gateway's members are kept for the session grace (1 s here), then announced as left.
        "testSilentGatewaysMembersAreAnnouncedAsLeft": ["--gateway-timeout", "1", "--session-grace", "1"],
        // Room for 300 maximum-size messages, so only the reply trimming keeps the join ack in a frame.
        "testAJoinWhoseAckWouldBeTooBigGetsATrimmedHistory": [
            "--history", "300", "--history-budget", "65536", "--replay-budget", "65536",
        ],
    ]

    override func tearDown() {
        broker?.stop()
        broker = nil
        context = nil
    }

    func gateway(_ name: String) throws -> FakeGateway {
        let gateway = try FakeGateway(
            context: context,
            name: name,
            commandsEndpoint: commandsEndpoint,
            broadcastsEndpoint: broadcastsEndpoint
        )
        XCTAssertNil(try gateway.request(.hello(gatewayName: name)).failure)
        return gateway
    }

    /// Creates `room` and returns its password.
    func createRoom(_ room: String, on gateway: FakeGateway) throws -> String {
        let json = try JSONValue.parse(
            try gateway.request(.create(name: "owner", room: room, key: ""), connection: 99).success().json
        )
        return try XCTUnwrap(json["password"]?.stringValue)
    }

    /// Subscribes, then waits until a probe broadcast shows the subscription is live.
    func subscribeAndSettle(_ gateways: [FakeGateway], room: String, password: String) throws {
        for gateway in gateways { try gateway.subscribe(room) }
        // A probe member joins and leaves until every gateway has seen one of its events.
        let probe = try gateway("probe-\(room)")
        var settled = Set<String>()
        for attempt in 0..<50 where settled.count < gateways.count {
            _ = try probe.request(.join(room: room, password: password, name: "probe\(attempt)"), connection: 1)
            _ = try probe.request(.leave(room: room), connection: 1)
            for gateway in gateways where !settled.contains(gateway.name) {
                if try !gateway.drainBroadcasts(timeout: 0.05).isEmpty { settled.insert(gateway.name) }
            }
        }
        XCTAssertEqual(settled.count, gateways.count, "subscriptions never became live")
    }

    func testMembersOnTwoGatewaysSeeTheSameMessagesInTheSameOrder() throws {
        let gatewayA = try gateway("gw-a")
        let gatewayB = try gateway("gw-b")
        let password = try createRoom("lobby", on: gatewayA)
        try subscribeAndSettle([gatewayA, gatewayB], room: "lobby", password: password)

        XCTAssertNil(
            try gatewayA.request(.join(room: "lobby", password: password, name: "alice"), connection: 1).failure
        )
        XCTAssertNil(try gatewayB.request(.join(room: "lobby", password: password, name: "bob"), connection: 2).failure)
        for index in 0..<20 {
            let (sender, connection) = index.isMultiple(of: 2) ? (gatewayA, UInt64(1)) : (gatewayB, UInt64(2))
            XCTAssertNil(
                try sender.request(.message(room: "lobby", text: "message \(index)", key: ""), connection: connection)
                    .failure
            )
        }
        let seenByA = try gatewayA.drainBroadcasts(timeout: 0.5).filter { $0.kind == .message }
        let seenByB = try gatewayB.drainBroadcasts(timeout: 0.5).filter { $0.kind == .message }
        XCTAssertEqual(seenByA.count, 20)
        XCTAssertEqual(seenByA, seenByB, "both gateways get the same events, byte for byte, in the same order")
        XCTAssertEqual(seenByA.map(\.seq), seenByA.map(\.seq).sorted())
        let texts = try seenByA.map { broadcast -> String in
            let packet = try SocketIOPacket.parse(String(decoding: broadcast.payload.dropFirst(), as: UTF8.self)[...])
            return packet.data?.arrayValue?[1]["text"]?.stringValue ?? ""
        }
        XCTAssertEqual(texts, (0..<20).map { "message \($0)" })
    }

    func testAMemberOfAnotherRoomReceivesNothing() throws {
        let gatewayA = try gateway("gw-a")
        let outsider = try gateway("gw-out")
        let lobby = try createRoom("lobby", on: gatewayA)
        let other = try createRoom("lobby2", on: outsider)
        try subscribeAndSettle([gatewayA], room: "lobby", password: lobby)
        try subscribeAndSettle([outsider], room: "lobby2", password: other)
        XCTAssertNil(try gatewayA.request(.join(room: "lobby", password: lobby, name: "alice"), connection: 1).failure)
        XCTAssertNil(try gatewayA.request(.message(room: "lobby", text: "secret", key: ""), connection: 1).failure)
        XCTAssertEqual(try gatewayA.drainBroadcasts(timeout: 0.3).map(\.kind), [.joined, .message])
        XCTAssertEqual(try outsider.drainBroadcasts(timeout: 0.3), [], "a prefix-sharing room sees nothing of lobby")
    }

    func testWrongPasswordIsRefusedAndLimited() throws {
        let gatewayA = try gateway("gw-a")
        let password = try createRoom("vault", on: gatewayA)
        let refused = try gatewayA.request(.join(room: "vault", password: "letmein", name: "eve"), connection: 5)
        XCTAssertEqual(refused.failure?.code, .wrongPassword)
        for _ in 0..<4 { _ = try gatewayA.request(.join(room: "vault", password: "guess", name: "eve"), connection: 5) }
        let limited = try gatewayA.request(.join(room: "vault", password: password, name: "eve"), connection: 5)
        XCTAssertEqual(limited.failure?.code, .tooManyAttempts)
        XCTAssertNil(try gatewayA.request(.join(room: "vault", password: password, name: "ann"), connection: 6).failure)
        XCTAssertEqual(
            try gatewayA.request(.join(room: "nowhere", password: password, name: "x"), connection: 7).failure?.code,
            .noSuchRoom
        )
    }

    func testMalformedFramesAreAnsweredAndOthersKeepBeingServed() throws {
        let bad = try gateway("gw-bad")
        let good = try gateway("gw-good")
        try bad.sendRaw([[0xFF, 0x00, 0x01]])
        try bad.sendRaw([[WireFormat.version, 77] + [UInt8](repeating: 0, count: 12)])
        try bad.sendRaw([[], [1, 2, 3]])
        try bad.sendRaw([
            Array(WireCommand(requestID: 42, connectionID: 1, body: .leave(room: "x")).encoded().dropLast())
        ])
        var invalid: [WireReply] = []
        while invalid.count < 4, let reply = try bad.nextReply(timeout: 2) { invalid.append(reply) }
        XCTAssertEqual(invalid.map(\.kind), [.invalid, .invalid, .invalid, .invalid])
        XCTAssertEqual(invalid.last?.requestID, 42)
        XCTAssertTrue(invalid.allSatisfy { $0.failure?.code == .badRequest })
        // The broker is still serving both gateways.
        XCTAssertNil(try good.request(.listRooms(after: "", limit: 0)).failure)
        XCTAssertNil(try bad.request(.create(name: "ok", room: "fine", key: ""), connection: 1).failure)
    }

    func testJoinSequenceAndReplayCloseTheSlowJoinerGap() throws {
        let gatewayA = try gateway("gw-a")
        let gatewayB = try gateway("gw-b")
        let password = try createRoom("race", on: gatewayA)
        XCTAssertNil(
            try gatewayA.request(.join(room: "race", password: password, name: "alice"), connection: 1).failure
        )
        // gw-b subscribes and joins at once, as a gateway does; alice talks immediately.
        try gatewayB.subscribe("race")
        let join = try gatewayB.request(.join(room: "race", password: password, name: "bob"), connection: 2).success()
        for index in 0..<5 {
            XCTAssertNil(
                try gatewayA.request(.message(room: "race", text: "m\(index)", key: ""), connection: 1).failure
            )
        }
        // Its subscription is live once the room's head arrives (the broker answers every subscription
        // with one); what came before it may have been missed, and the replay fills exactly that gap.
        var received: [WireBroadcast] = []
        while let next = try gatewayB.nextBroadcast(timeout: 3) {
            if next.kind == .head { break }
            if next.seq > join.seq { received.append(next) }
        }
        let missing = (join.seq + 1...join.seq + 5).filter { seq in !received.contains { $0.seq == seq } }
        var recovered = received.map(\.seq)
        if let first = missing.first, let last = missing.last {
            let replay = try gatewayB.request(.replay(room: "race", from: first, to: last)).success()
            XCTAssertEqual(replay.events.map(\.seq), Array(first...last))
            recovered += replay.events.map(\.seq)
        }
        XCTAssertEqual(Set(recovered), Set(join.seq + 1...join.seq + 5), "gw-b has every event, live or replayed")
        // Once subscribed, the next event arrives live.
        let after = try gatewayA.request(.message(room: "race", text: "m5", key: ""), connection: 1).success().seq
        var live: WireBroadcast?
        while live == nil, let next = try gatewayB.nextBroadcast(timeout: 3) {
            if next.seq == after { live = next }
        }
        XCTAssertEqual(live?.kind, .message, "gw-b received the room's event over its subscription")
        let replayAll = try gatewayB.request(.replay(room: "race", from: join.seq + 1, to: join.seq + 5)).success()
        for event in received {
            XCTAssertEqual(
                replayAll.events.first { $0.seq == event.seq }?.payload,
                event.payload,
                "replay gives the same bytes"
            )
        }
        XCTAssertEqual(
            try gatewayB.request(.replay(room: "race", from: join.seq + 1, to: join.seq + 50)).failure?.code,
            .badRequest
        )
    }

    func testANewSubscriptionIsConfirmedWithTheRoomsLastSeq() throws {
        let gatewayA = try gateway("gw-a")
        let password = try createRoom("heads", on: gatewayA)
        XCTAssertNil(
            try gatewayA.request(.join(room: "heads", password: password, name: "alice"), connection: 1).failure
        )
        XCTAssertNil(try gatewayA.request(.message(room: "heads", text: "one", key: ""), connection: 1).failure)
        let late = try gateway("gw-late")
        try late.subscribe("heads")
        let marker = try XCTUnwrap(try late.nextBroadcast(timeout: 5), "no confirmation of the subscription")
        XCTAssertEqual(marker.kind, .head)
        XCTAssertEqual(marker.room, "heads")
        XCTAssertEqual(marker.seq, 2, "the marker carries the room's last seq")
        // Once confirmed, the subscription receives the next event for sure.
        XCTAssertNil(try gatewayA.request(.message(room: "heads", text: "two", key: ""), connection: 1).failure)
        XCTAssertEqual(try late.nextBroadcast(timeout: 5)?.seq, 3)
    }

    func testARoomThatFallsQuietPublishesItsHead() throws {
        let gatewayA = try gateway("gw-a")
        let password = try createRoom("quiet", on: gatewayA)
        try gatewayA.subscribe("quiet")
        XCTAssertEqual(try gatewayA.nextBroadcast(timeout: 5)?.kind, .head, "the subscription is confirmed")
        let seq = try gatewayA.request(.join(room: "quiet", password: password, name: "alice"), connection: 1).success()
            .seq
        let last = try gatewayA.request(.message(room: "quiet", text: "last words", key: ""), connection: 1).success()
            .seq
        XCTAssertEqual(last, seq + 1)
        var seen: [WireBroadcast] = []
        while seen.last?.kind != .head, let next = try gatewayA.nextBroadcast(timeout: 2) { seen.append(next) }
        XCTAssertEqual(seen.map(\.kind), [.joined, .message, .head], "after the events, once quiet, the head")
        XCTAssertEqual(seen.last?.seq, last)
    }

    func testSilentGatewaysMembersAreAnnouncedAsLeft() throws {
        let gatewayA = try gateway("gw-a")
        let password = try createRoom("lobby", on: gatewayA)
        try subscribeAndSettle([gatewayA], room: "lobby", password: password)
        XCTAssertNil(
            try gatewayA.request(.join(room: "lobby", password: password, name: "alice"), connection: 1).failure
        )
        do {
            let doomed = try gateway("gw-doomed")
            XCTAssertNil(
                try doomed.request(.join(room: "lobby", password: password, name: "bob"), connection: 1).failure
            )
        }
        // gw-a keeps heart-beating; gw-doomed falls silent and is dropped after --gateway-timeout 1.
        var left: WireBroadcast?
        let deadline = Date().addingTimeInterval(5)
        while left == nil && Date() < deadline {
            _ = try gatewayA.request(.heartbeat)
            left = try gatewayA.drainBroadcasts(timeout: 0.2).first { $0.kind == .left }
        }
        let event = try XCTUnwrap(left, "bob was never announced as left")
        XCTAssertEqual(event.gateway, "gw-doomed")
        XCTAssertTrue(String(decoding: event.payload, as: UTF8.self).contains(#""name":"bob","count":1}"#))
    }

    func testEveryEventIsOneLogLineAndPasswordsNeverAppear() throws {
        let gatewayA = try gateway("gw-a")
        let password = try createRoom("logged", on: gatewayA)
        _ = try gatewayA.request(.join(room: "logged", password: password, name: "alice"), connection: 1)
        _ = try gatewayA.request(.join(room: "logged", password: "wrong", name: "eve"), connection: 2)
        _ = try gatewayA.request(.message(room: "logged", text: "hello\nworld", key: ""), connection: 1)
        _ = try gatewayA.request(.leave(room: "logged"), connection: 1)
        XCTAssertTrue(broker.waitForOutput(containing: " leave "))
        let lines = broker.output.split(separator: "\n")
        for event in ["create", "join", "join-refused", "message", "leave"] {
            XCTAssertTrue(
                lines.contains { $0.contains(" \(event) ") && $0.contains("room=logged") },
                "no \(event) line in:\n\(broker.output)"
            )
        }
        XCTAssertTrue(lines.contains { $0.contains(#"text="hello\nworld""#) }, "message text stays on one line")
        XCTAssertFalse(broker.output.contains(password))
    }

    // MARK: Limits

    func testCommandsFromAGatewayThatNeverSaidHelloAreNotApplied() throws {
        let stranger = try FakeGateway(
            context: context,
            name: "gw-stranger",
            commandsEndpoint: commandsEndpoint,
            broadcastsEndpoint: broadcastsEndpoint
        )
        let reply = try stranger.request(.create(name: "x", room: "ghost", key: ""), connection: 1)
        XCTAssertEqual(reply.failure?.code, .unknownGateway)
        XCTAssertTrue(reply.failure?.message.contains("hello") ?? false)
        XCTAssertEqual(try stranger.request(.hello(gatewayName: "gw-stranger")).failure, nil)
        XCTAssertNil(
            try stranger.request(.create(name: "x", room: "ghost", key: ""), connection: 1).failure,
            "served after hello"
        )
        XCTAssertTrue(broker.waitForOutput(containing: "unknown-gateway"))
    }

    func testCommandsThatWaitedPastTheirDeadlineAreDroppedAndLogged() throws {
        let gatewayA = try gateway("gw-a")
        // The gateway's clock reads 1 000 000 now; a command stamped 10 s earlier with a 5 s ttl waited
        // in queues longer than the gateway waits for its reply.
        let now: UInt64 = 1_000_000
        try gatewayA.send(.heartbeat, sentAt: now, ttl: 5_000)
        let stale = try gatewayA.send(
            .create(name: "x", room: "stale", key: ""),
            connection: 1,
            sentAt: now - 10_000,
            ttl: 5_000
        )
        XCTAssertNil(try gatewayA.nextReply(timeout: 1) { $0.requestID == stale }, "no reply to an expired command")
        XCTAssertTrue(broker.waitForOutput(containing: " expired "), broker.output)
        XCTAssertTrue(broker.output.contains("count=1"))
        let fresh = try gatewayA.send(
            .create(name: "x", room: "stale", key: ""),
            connection: 1,
            sentAt: now + 500,
            ttl: 5_000
        )
        XCTAssertNil(
            try XCTUnwrap(try gatewayA.nextReply(timeout: 5) { $0.requestID == fresh }).failure,
            "the stale one was never applied"
        )
    }

    func testOversizedFieldsAreRefusedAndReachNoOneNorTheLog() throws {
        let gatewayA = try gateway("gw-a")
        let password = try createRoom("sizes", on: gatewayA)
        try subscribeAndSettle([gatewayA], room: "sizes", password: password)
        XCTAssertNil(
            try gatewayA.request(.join(room: "sizes", password: password, name: "alice"), connection: 1).failure
        )
        _ = try gatewayA.drainBroadcasts(timeout: 0.2)
        let grapheme = "a" + String(repeating: "\u{0301}", count: 100_000)  // 200 KB, one grapheme
        let bigName = String(repeating: "n", count: 40_000)
        let bigText = String(repeating: "t", count: 30_000)
        let attempts: [(WireCommand.Body, UInt64)] = [
            (.message(room: "sizes", text: grapheme, key: ""), 1),
            (.join(room: "sizes", password: password, name: bigName), 2),
            (.post(room: "sizes", password: password, name: "bot", text: bigText, key: ""), 3),
        ]
        for (body, connection) in attempts {
            XCTAssertEqual(
                try gatewayA.request(body, connection: connection).failure?.code,
                .badRequest,
                "\(body.kind)"
            )
        }
        XCTAssertEqual(
            try gatewayA.drainBroadcasts(timeout: 0.3).filter { $0.kind != .head },
            [],
            "nothing reached the members"
        )
        XCTAssertTrue(broker.waitForOutput(containing: "post-refused"))
        XCTAssertFalse(
            broker.output.contains(String(repeating: "\u{0301}", count: 100)),
            "no oversized text in the log"
        )
        XCTAssertFalse(broker.output.contains(String(repeating: "n", count: 100)), "no oversized name in the log")
        XCTAssertFalse(broker.output.contains(String(repeating: "t", count: 200)), "no oversized text in the log")
    }

    func testAJoinWhoseAckWouldBeTooBigGetsATrimmedHistory() throws {
        let gatewayA = try gateway("gw-a")
        let password = try createRoom("heavy", on: gatewayA)
        XCTAssertNil(
            try gatewayA.request(.join(room: "heavy", password: password, name: "alice"), connection: 1).failure
        )
        // 150 of the largest messages the validator allows (8 000 bytes each once encoded): 1.2 MB.
        let text = String(repeating: "😀", count: FieldValidator.maxTextScalars)
        for _ in 0..<150 {
            try gatewayA.send(.message(room: "heavy", text: text, key: ""), connection: 1)
        }
        var replies = 0
        while replies < 150, let reply = try gatewayA.nextReply(timeout: 10) {
            XCTAssertNil(reply.failure)
            replies += 1
        }
        XCTAssertEqual(replies, 150)
        let join = try gatewayA.request(.join(room: "heavy", password: password, name: "bob"), connection: 2).success()
        let history = try XCTUnwrap(try JSONValue.parse(join.json, limits: .trusted)["history"]?.arrayValue)
        XCTAssertGreaterThan(history.count, 50)
        XCTAssertLessThan(history.count, 150, "trimmed to fit the frame")
        XCTAssertEqual(history.last?["seq"], .number(Double(join.seq - 1)), "the newest messages are kept")
        // Replays come in prefixes that fit, too; the gateway asks again for the rest.
        let replay = try gatewayA.request(.replay(room: "heavy", from: 2, to: join.seq)).success()
        XCTAssertEqual(replay.events.first?.seq, 2)
        XCTAssertLessThan(replay.events.count, Int(join.seq - 1))
    }
}
