import ChatWire
import RoomBrokerCore
import SocketIO
import XCTest

/// Names, HTTP-posted messages, rate limits, presence deltas, field validation and log lines.
final class BrokerLimitsTests: XCTestCase {
    func testRefusalLinesAClientCanTriggerAreThrottledPerAddress() throws {
        var harness = EngineHarness()
        _ = try harness.create("lobby")
        for attempt in 0..<300 {
            _ = harness.send(
                .post(room: "nowhere", password: "pw", name: "bot", text: "x", key: ""),
                connection: UInt64(attempt),
                client: "192.0.2.7"
            )
        }
        _ = harness.send(
            .post(room: "nowhere", password: "pw", name: "bot", text: "x", key: ""),
            client: "198.51.100.9"
        )
        let refused = harness.lines.filter { $0.contains("post-refused") }
        XCTAssertEqual(
            refused.filter { $0.contains("192.0.2.7") }.count,
            20,
            "300 refusals from one address: 20 lines per 10 s"
        )
        XCTAssertEqual(refused.filter { $0.contains("198.51.100.9") }.count, 1, "another address is not silenced")
    }

    func testNamesAreUniqueAfterNFKCAndCaseFolding() throws {
        var harness = EngineHarness()
        let password = try harness.create("lobby")
        XCTAssertNil(EngineHarness.failure(harness.send(.join(room: "lobby", password: password, name: "alice"))))
        for lookalike in ["ALICE", "Ａｌｉｃｅ", "Alice "] {
            XCTAssertEqual(
                EngineHarness.failure(
                    harness.send(.join(room: "lobby", password: password, name: lookalike), connection: 2)
                ),
                .nameInUse,
                lookalike
            )
        }
        for invisible in ["alice\u{200B}", "\u{202E}ecila", "al\u{FEFF}ice"] {
            XCTAssertEqual(
                EngineHarness.failure(
                    harness.send(.join(room: "lobby", password: password, name: invisible), connection: 2)
                ),
                .badRequest,
                invisible
            )
        }
        XCTAssertEqual(harness.engine.registry.rooms["lobby"]?.memberNames(), ["alice"])
        // Once alice leaves, her name (in any of its forms) is free again.
        _ = harness.send(.leave(room: "lobby"))
        XCTAssertNil(
            EngineHarness.failure(harness.send(.join(room: "lobby", password: password, name: "ALICE"), connection: 2))
        )
    }

    func testMessagesPostedOverHTTPAreMarkedViaHTTPInTheEventAndInHistory() throws {
        var harness = EngineHarness()
        let password = try harness.create("lobby")
        _ = harness.send(.join(room: "lobby", password: password, name: "alice"))
        let posted = harness.send(
            .post(room: "lobby", password: password, name: "alice", text: "I am alice", key: ""),
            connection: 50
        )
        let event = try XCTUnwrap(posted.broadcasts.first)
        let text = String(decoding: event.payload, as: UTF8.self)
        XCTAssertTrue(text.hasSuffix(#","via":"http"}]"#), text)
        XCTAssertEqual(event.gateway, "", "no member's connection")
        let own = harness.send(.message(room: "lobby", text: "the real alice", key: ""))
        XCTAssertFalse(String(decoding: try XCTUnwrap(own.broadcasts.first).payload, as: UTF8.self).contains("via"))
        let ack = try EngineHarness.json(
            harness.send(.join(room: "lobby", password: password, name: "bob"), connection: 2)
        )
        let history = try XCTUnwrap(ack["history"]?.arrayValue)
        XCTAssertEqual(history.map { $0["via"] }, ["http", nil])
    }

    func testTheRightPasswordIsNeverRefusedBecauseOfOtherPeoplesFailures() throws {
        var harness = EngineHarness()
        let password = try harness.create("vault")
        for index in 0..<175 {
            let output = harness.send(
                .post(room: "vault", password: "wrong-guess", name: "x", text: "x", key: ""),
                gateway: "gw-http",
                connection: UInt64(1_000 + index),
                client: "127.0.0.\(2 + index % 7)"
            )
            XCTAssertNotNil(EngineHarness.failure(output))
        }
        XCTAssertTrue(
            harness.lines.contains { $0.contains("post-refused") && $0.contains("limit=wrong-passwords-per-address") },
            "the log says which limit bit"
        )
        XCTAssertNil(
            EngineHarness.failure(
                harness.send(
                    .post(room: "vault", password: password, name: "bot", text: "still works", key: ""),
                    gateway: "gw-http",
                    connection: 5_000,
                    client: "127.0.0.1"
                )
            )
        )
        XCTAssertNil(
            EngineHarness.failure(
                harness.send(.join(room: "vault", password: password, name: "ann"), connection: 7, client: "127.0.0.1")
            )
        )
        // The attacker's own address stays limited, even with the right password.
        XCTAssertEqual(
            EngineHarness.failure(
                harness.send(.join(room: "vault", password: password, name: "eve"), connection: 8, client: "127.0.0.2")
            ),
            .tooManyAttempts
        )
    }

    func testLiveRoomsArePerCreatorAddressAndFreedWhenTheyExpire() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.createsPerClient = 1_000
        configuration.createsPerConnection = 1_000
        configuration.emptyRoomGraceMilliseconds = 1_000
        var harness = EngineHarness(configuration: configuration)
        for index in 0..<20 {
            XCTAssertNil(
                EngineHarness.failure(
                    harness.send(.create(name: "o", room: "r\(index)", key: ""), client: "203.0.113.5")
                )
            )
        }
        XCTAssertEqual(
            EngineHarness.failure(harness.send(.create(name: "o", room: "r20", key: ""), client: "203.0.113.5")),
            .rateLimited
        )
        XCTAssertTrue(
            harness.lines.contains { $0.contains("create-refused") && $0.contains("limit=rooms-per-address") }
        )
        XCTAssertNil(
            EngineHarness.failure(
                harness.send(.create(name: "o", room: "other", key: ""), client: "2001:db8:1:2::/64")
            ),
            "another address is not affected"
        )
        _ = harness.engine.tick(now: 2_500)
        XCTAssertNil(
            EngineHarness.failure(
                harness.send(.create(name: "o", room: "r20", key: ""), client: "203.0.113.5", now: 2_600)
            ),
            "expired rooms no longer count"
        )
    }

    func testPresenceEventsCarryTheCountNotTheList() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.historySize = 1
        var harness = EngineHarness(configuration: configuration)
        let password = try harness.create("big")
        var largestEvent = 0
        for index in 0..<300 {
            let output = harness.send(
                .join(room: "big", password: password, name: "member-\(index)"),
                connection: UInt64(index + 1)
            )
            let event = try XCTUnwrap(output.broadcasts.first)
            largestEvent = max(largestEvent, event.payload.count)
        }
        XCTAssertLessThan(largestEvent, 200, "a joined event is a delta")
        let ack = try EngineHarness.json(
            harness.send(.join(room: "big", password: password, name: "last"), connection: 1_000)
        )
        XCTAssertEqual(ack["count"], 301)
        XCTAssertEqual(ack["members"]?.arrayValue?.count, RoomRegistry.maxMembersInJoinReply)
        XCTAssertEqual(ack["members"]?.arrayValue?.first, "member-0", "the first members in join order")
        let left = try XCTUnwrap(harness.send(.leave(room: "big"), connection: 1).broadcasts.first)
        let packet = try SocketIOPacket.parse(String(decoding: left.payload.dropFirst(), as: UTF8.self)[...])
        XCTAssertEqual(
            packet.data,
            ["left", ["room": "big", "seq": .number(Double(left.seq)), "name": "member-0", "count": 300]]
        )
    }

    func testTheBrokerValidatesEveryFieldAgain() throws {
        var harness = EngineHarness()
        let password = try harness.create("lobby")
        _ = harness.send(.join(room: "lobby", password: password, name: "alice"))
        let grapheme = "a" + String(repeating: "\u{0301}", count: 100_000)
        let refused: [WireCommand.Body] = [
            .message(room: "lobby", text: grapheme, key: ""),
            .message(room: "lobby", text: String(repeating: "x", count: 8_001), key: ""),
            .message(room: "lobby", text: "ok", key: "bad key!"),
            .join(room: "lobby", password: password, name: String(repeating: "n", count: 40_000)),
            .post(room: "lobby", password: password, name: "bot", text: String(repeating: "y", count: 30_000), key: ""),
            .create(name: "x", room: "", key: String(repeating: "k", count: 65)),
            .listRooms(after: "", limit: 201),
            .listRooms(after: "no spaces", limit: 10),
            .hello(gatewayName: String(repeating: "g", count: 200)),
        ]
        for body in refused {
            let output = harness.send(body, connection: body.kind == .join ? 2 : 1)
            XCTAssertEqual(EngineHarness.failure(output), .badRequest, "\(body.kind)")
            XCTAssertEqual(output.broadcasts, [], "\(body.kind)")
        }
        XCTAssertEqual(EngineHarness.failure(harness.send(.heartbeat, client: "bad\u{1}client")), .badRequest)
        XCTAssertEqual(
            EngineHarness.failure(harness.send(.heartbeat, client: String(repeating: "1", count: 65))),
            .badRequest
        )
        XCTAssertEqual(harness.engine.registry.rooms["lobby"]?.lastSeq, 1, "nothing was applied")
        for line in harness.lines {
            XCTAssertLessThan(line.utf8.count, 1_000, "refused fields are cut in the log: \(line.prefix(200))")
        }
    }

    func testLogPreviewsAreCutByBytesAndRefusalsGoThroughOneFunction() throws {
        var harness = EngineHarness()
        let password = try harness.create("lobby")
        _ = harness.send(.join(room: "lobby", password: password, name: "alice"))
        _ = harness.send(.message(room: "lobby", text: String(repeating: "😀", count: 2_000), key: ""))
        let message = try XCTUnwrap(harness.lines.first { $0.contains(" message ") })
        XCTAssertLessThan(message.utf8.count, 400, message)
        XCTAssertTrue(message.contains(String(repeating: "😀", count: 30) + "…"), message)
        _ = harness.engine.handle(frame: [9, 9, 9], from: "gw-a", now: 1_000)
        _ = harness.send(.join(room: "lobby", password: "wrong", name: "eve"), connection: 3)
        XCTAssertTrue(harness.lines.contains { $0.hasPrefix("notice bad-frame ") })
        XCTAssertTrue(
            harness.lines.contains { $0.hasPrefix("notice join-refused ") && $0.contains("reason=wrong_password") }
        )
    }

    func testSlidingWindowDoesNotAllowTwiceTheLimitAcrossABoundary() {
        var limiter = AttemptLimiter(limit: 5, windowMilliseconds: 60_000)
        for _ in 0..<5 { limiter.record("k", now: 59_000) }
        XCTAssertTrue(limiter.isBlocked("k", now: 59_500))
        var allowed = 0
        while !limiter.isBlocked("k", now: 60_500), allowed < 10 {
            limiter.record("k", now: 60_500)
            allowed += 1
        }
        XCTAssertLessThanOrEqual(allowed, 1, "a fixed window would allow 5 more just after the boundary")
        XCTAssertGreaterThan(limiter.retryAfter("k", now: 60_500), 0)
        XCTAssertFalse(limiter.isBlocked("k", now: 119_000), "a window later the old events have slid out")
        limiter.purge(now: 200_000)
        XCTAssertEqual(limiter.trackedKeys, 0)
    }
}
