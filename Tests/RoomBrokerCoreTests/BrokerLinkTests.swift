import ChatWire
import RoomBrokerCore
import SocketIO
import XCTest

/// Gateway registration, command deadlines across two clocks, idempotency keys and the monotonic clock.
final class BrokerLinkTests: XCTestCase {
    func testAGatewayThatNeverSaidHelloIsToldSoAndNothingIsApplied() throws {
        var harness = EngineHarness()
        let command = WireCommand(requestID: 3, connectionID: 1, body: .create(name: "a", room: "lobby", key: ""))
        let output = harness.engine.handle(frame: command.encoded(), from: "gw-new", now: 1_000)
        guard case .failure(let error) = output.reply?.result else { return XCTFail("\(output)") }
        XCTAssertEqual(error.code, .unknownGateway)
        XCTAssertTrue(error.message.contains("hello"), error.message)
        XCTAssertEqual(output.reply?.requestID, 3)
        XCTAssertNil(harness.engine.registry.rooms["lobby"], "not applied")
        XCTAssertTrue(harness.lines.contains { $0.hasPrefix("notice unknown-gateway ") })
        // After hello it is served, and hello/heartbeat replies name the broker instance.
        let hello = harness.engine.handle(
            frame: WireCommand(requestID: 4, connectionID: 0, body: .hello(gatewayName: "gw-new")).encoded(),
            from: "gw-new",
            now: 1_000
        )
        guard case .success(let greeting) = hello.reply?.result else { return XCTFail("\(hello)") }
        XCTAssertEqual(greeting.instance, harness.engine.instance)
        XCTAssertNil(EngineHarness.failure(harness.engine.handle(frame: command.encoded(), from: "gw-new", now: 1_100)))
    }

    func testAGatewayDroppedAfterSilenceMustSayHelloAgain() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.sessionGraceMilliseconds = 0
        var harness = EngineHarness(configuration: configuration, gatewayTimeoutMilliseconds: 5_000)
        let password = try harness.create("lobby", now: 1_000)
        _ = harness.send(.join(room: "lobby", password: password, name: "alice"), now: 1_000)
        let lost = harness.engine.tick(now: 6_500)
        XCTAssertEqual(lost.broadcasts.filter { $0.kind == .left }.count, 1)
        XCTAssertEqual(EngineHarness.failure(harness.send(.heartbeat, now: 6_600)), .unknownGateway)
        XCTAssertEqual(
            EngineHarness.failure(harness.send(.message(room: "lobby", text: "hi", key: ""), now: 6_600)),
            .unknownGateway
        )
        harness.greeted = []
        XCTAssertEqual(
            EngineHarness.failure(harness.send(.message(room: "lobby", text: "hi", key: ""), now: 6_700)),
            .notMember,
            "known again after hello; its members must join again"
        )
    }

    func testSteadyStateCommandsAreAppliedWhateverTheGatewaysClockOrigin() throws {
        // The gateway's monotonic clock started long before the broker's (or after: both directions).
        for origin in [UInt64(0), 7_000_000_000, UInt64(1) << 62] {
            var harness = EngineHarness()
            let password = try harness.create("lobby", now: 1_000)
            _ = harness.send(
                .join(room: "lobby", password: password, name: "alice"),
                sentAt: origin + 1_000,
                ttl: 5_000,
                now: 1_000
            )
            for step in 1...50 {
                let sent = origin + 1_000 + UInt64(step) * 100
                // Queueing delay varies between 0 and 40 ms.
                let output = harness.send(
                    .message(room: "lobby", text: "m\(step)", key: ""),
                    sentAt: sent,
                    ttl: 5_000,
                    now: BrokerClock(monotonic: 1_000 + UInt64(step) * 100 + UInt64(step % 5) * 10, wall: 0)
                )
                XCTAssertNotNil(output.reply, "origin \(origin), step \(step)")
            }
            XCTAssertEqual(harness.engine.expiredCommands, 0)
        }
    }

    func testCommandsThatWaitedPastTheirTTLAreDroppedCountedAndLoggedOncePer10s() throws {
        var harness = EngineHarness()
        let origin: UInt64 = 123_456_789
        let password = try harness.create("lobby", now: 1_000)
        XCTAssertNotNil(
            harness.send(
                .join(room: "lobby", password: password, name: "alice"),
                sentAt: origin,
                ttl: 5_000,
                now: 1_000
            ).reply
        )
        // The broker stalls for 6 s: commands sent meanwhile are handled after the gateway gave up.
        for step in 0..<3 {
            let output = harness.send(
                .message(room: "lobby", text: "late \(step)", key: ""),
                sentAt: origin + 100 + UInt64(step),
                ttl: 5_000,
                now: BrokerClock(monotonic: 7_200 + UInt64(step), wall: 0)
            )
            XCTAssertNil(output.reply, "no reply: the gateway stopped waiting")
            XCTAssertEqual(output.broadcasts, [], "not applied")
        }
        XCTAssertEqual(harness.engine.registry.rooms["lobby"]?.lastSeq, 1)
        XCTAssertEqual(harness.engine.expiredCommands, 3)
        XCTAssertEqual(harness.lines.filter { $0.contains(" expired ") }.count, 1, "one line per gateway per 10 s")
        XCTAssertTrue(harness.lines.contains { $0.contains(" expired ") && $0.contains("count=1") })
        // Without a ttl nothing is dropped; fresh commands after the stall are applied.
        XCTAssertNotNil(
            harness.send(
                .message(room: "lobby", text: "no deadline", key: ""),
                sentAt: origin + 200,
                ttl: 0,
                now: BrokerClock(monotonic: 7_300, wall: 0)
            ).reply
        )
        XCTAssertNotNil(
            harness.send(
                .message(room: "lobby", text: "fresh", key: ""),
                sentAt: origin + 6_400,
                ttl: 5_000,
                now: BrokerClock(monotonic: 7_400, wall: 0)
            ).reply
        )
        // The tick reports the remaining count once 10 s have passed.
        _ = harness.engine.tick(now: BrokerClock(monotonic: 17_300, wall: 0))
        XCTAssertTrue(harness.lines.contains { $0.contains(" expired ") && $0.contains("count=2") }, "\(harness.lines)")
    }

    func testARetriedMessageIsAppliedOnceAndAnsweredWithItsSeq() throws {
        var harness = EngineHarness()
        let password = try harness.create("lobby")
        _ = harness.send(.join(room: "lobby", password: password, name: "alice"))
        let first = harness.send(.message(room: "lobby", text: "once", key: "k-1"))
        let retry = harness.send(.message(room: "lobby", text: "once", key: "k-1"))
        XCTAssertEqual(try EngineHarness.json(retry)["seq"], try EngineHarness.json(first)["seq"])
        XCTAssertEqual(retry.broadcasts, [])
        XCTAssertEqual(harness.engine.registry.rooms["lobby"]?.history.count, 1)
        // Posts too, and keys are per room.
        let post = harness.send(
            .post(room: "lobby", password: password, name: "bot", text: "p", key: "k-2"),
            connection: 5
        )
        XCTAssertEqual(
            harness.send(.post(room: "lobby", password: password, name: "bot", text: "p", key: "k-2"), connection: 6)
                .broadcasts,
            []
        )
        XCTAssertEqual(try EngineHarness.json(post)["seq"], 3)
        // Only the last 1024 keys are remembered.
        for index in 0..<RecentKeys.capacity {
            _ = harness.send(.message(room: "lobby", text: "x", key: "fill-\(index)"))
        }
        XCTAssertEqual(harness.send(.message(room: "lobby", text: "once", key: "k-1")).broadcasts.count, 1)
    }

    func testARetriedCreateNamesTheSameRoomWithANewPasswordUntilSomeoneJoins() throws {
        var harness = EngineHarness()
        let first = try EngineHarness.json(
            harness.send(.create(name: "ann", room: "", key: "c-1"), client: "198.51.100.4")
        )
        let retry = try EngineHarness.json(
            harness.send(.create(name: "ann", room: "", key: "c-1"), connection: 2, client: "198.51.100.4")
        )
        let room = try XCTUnwrap(first["room"]?.stringValue)
        XCTAssertEqual(retry["room"]?.stringValue, room)
        let oldPassword = try XCTUnwrap(first["password"]?.stringValue)
        let newPassword = try XCTUnwrap(retry["password"]?.stringValue)
        XCTAssertNotEqual(oldPassword, newPassword)
        XCTAssertEqual(harness.engine.registry.rooms.count, 1)
        XCTAssertEqual(
            EngineHarness.failure(harness.send(.join(room: room, password: oldPassword, name: "x"), connection: 3)),
            .wrongPassword
        )
        XCTAssertNil(
            EngineHarness.failure(harness.send(.join(room: room, password: newPassword, name: "ann"), connection: 4))
        )
        XCTAssertEqual(
            EngineHarness.failure(
                harness.send(.create(name: "ann", room: "", key: "c-1"), connection: 2, client: "198.51.100.4")
            ),
            .roomExists
        )
        // Another address with the same key makes its own room; after 2 minutes the key is forgotten.
        XCTAssertNotEqual(
            try EngineHarness.json(
                harness.send(.create(name: "bo", room: "", key: "c-1"), connection: 5, client: "203.0.113.1")
            )["room"]?.stringValue,
            room
        )
        _ = harness.engine.tick(now: BrokerClock(monotonic: 200_000, wall: 0))
        harness.greeted = []  // (the silent gateway was dropped meanwhile)
        XCTAssertNotEqual(
            try EngineHarness.json(
                harness.send(
                    .create(name: "ann", room: "", key: "c-1"),
                    connection: 6,
                    client: "198.51.100.4",
                    now: BrokerClock(monotonic: 200_000, wall: 0)
                )
            )["room"]?.stringValue,
            room
        )
    }

    func testStepsOfTheWallClockChangeNoTimerButStampTs() throws {
        var harness = EngineHarness(gatewayTimeoutMilliseconds: 5_000)
        let password = try harness.create("lobby")
        _ = harness.send(.join(room: "lobby", password: password, name: "alice"))
        for second in 1...10 {
            // The wall clock jumps 30 s forward, then 30 s back, each second; the monotonic one ticks on.
            let now = BrokerClock(
                monotonic: 1_000 + UInt64(second) * 1_000,
                wall: second.isMultiple(of: 2) ? 1_000_000 : 1_030_000
            )
            _ = harness.send(.heartbeat, now: now)
            XCTAssertEqual(
                harness.engine.tick(now: now).broadcasts.filter { $0.kind == .left },
                [],
                "no gateway dropped"
            )
        }
        let sent = harness.send(
            .message(room: "lobby", text: "hi", key: ""),
            now: BrokerClock(monotonic: 11_500, wall: 1_030_000)
        )
        let packet = try SocketIOPacket.parse(
            String(decoding: try XCTUnwrap(sent.broadcasts.first).payload.dropFirst(), as: UTF8.self)[...]
        )
        XCTAssertEqual(packet.data?.arrayValue?[1]["ts"], 1_030_000)
        XCTAssertEqual(harness.engine.registry.rooms["lobby"]?.members.count, 1)
    }
}
