import ChatWire
import RoomBrokerCore
import SocketIO
import XCTest

/// Sessions that outlive a connection: the grace, the resume by name and password, and `since`.
final class SessionGraceTests: XCTestCase {
    /// A broker with a 10 s session grace and a short history, and room "lobby".
    func makeHarness(historySize: Int = 100) throws -> (EngineHarness, String) {
        var configuration = RoomRegistryConfiguration()
        configuration.sessionGraceMilliseconds = 10_000
        configuration.historySize = historySize
        var harness = EngineHarness(configuration: configuration, gatewayTimeoutMilliseconds: 5_000)
        let password = try harness.create("lobby")
        return (harness, password)
    }

    /// The event names of the room events (not heads, not the notices to a taken-over connection) in `output`.
    func events(_ output: BrokerOutput) throws -> [String] {
        try output.broadcasts.filter { $0.kind != .head && $0.kind != .takenOver }.map { broadcast in
            let packet = try SocketIOPacket.parse(String(decoding: broadcast.payload.dropFirst(), as: UTF8.self)[...])
            return packet.data?.arrayValue?.first?.stringValue ?? "?"
        }
    }

    func testADisconnectKeepsTheMemberForTheGraceThenAnnouncesLeft() throws {
        var (harness, password) = try makeHarness()
        _ = harness.send(.join(room: "lobby", password: password, name: "alice"), connection: 1)
        _ = harness.send(.join(room: "lobby", password: password, name: "bob"), connection: 2)
        let dropped = harness.send(.disconnect, connection: 1, now: 2_000)
        XCTAssertEqual(try events(dropped), [], "no left within the grace")
        XCTAssertTrue(
            harness.lines.contains {
                $0.contains("away") && $0.contains("lobby") && $0.contains("alice") && $0.contains("session grace")
            },
            "one readable line says who is away: \(harness.lines.suffix(3))"
        )
        XCTAssertEqual(harness.engine.registry.rooms["lobby"]?.memberNames(), ["alice", "bob"], "still counts")
        XCTAssertEqual(
            EngineHarness.failure(
                harness.send(.join(room: "lobby", password: password, name: "ALICE"), connection: 3, now: 2_100)
            ),
            nil,
            "its name is resumable"
        )
        _ = harness.send(.disconnect, connection: 3, now: 3_000)
        _ = harness.send(.heartbeat, now: 12_000)
        XCTAssertEqual(try events(harness.engine.tick(now: 12_999)), [], "grace not over yet")
        _ = harness.send(.heartbeat, now: 13_000)
        let ended = harness.engine.tick(now: 13_000)
        XCTAssertEqual(try events(ended), ["left"])
        XCTAssertEqual(harness.engine.registry.rooms["lobby"]?.memberNames(), ["bob"])
        XCTAssertEqual(try events(harness.engine.tick(now: 30_000)), [], "left once")
    }

    func testLeaveIsAnnouncedAtOnce() throws {
        var (harness, password) = try makeHarness()
        _ = harness.send(.join(room: "lobby", password: password, name: "alice"), connection: 1)
        XCTAssertEqual(try events(harness.send(.leave(room: "lobby"), connection: 1, now: 1_500)), ["left"])
        XCTAssertEqual(harness.engine.registry.rooms["lobby"]?.memberNames(), [])
    }

    func testAJoinWithTheNameAndPasswordReplacesADisconnectedMemberWithoutJoinedOrLeft() throws {
        var (harness, password) = try makeHarness()
        _ = harness.send(.join(room: "lobby", password: password, name: "alice"), connection: 1)
        _ = harness.send(.join(room: "lobby", password: password, name: "bob"), connection: 2)
        _ = harness.send(.disconnect, connection: 1, now: 2_000)
        XCTAssertEqual(
            EngineHarness.failure(
                harness.send(
                    .join(room: "lobby", password: "wrong-pass", name: "alice"),
                    gateway: "gw-b",
                    connection: 7,
                    now: 2_100
                )
            ),
            .wrongPassword
        )
        let resumed = harness.send(
            .join(room: "lobby", password: password, name: "alice"),
            gateway: "gw-b",
            connection: 7,
            now: 2_200
        )
        let ack = try EngineHarness.json(resumed)
        XCTAssertEqual(ack["count"], 2)
        XCTAssertEqual(ack["members"], ["alice", "bob"])
        XCTAssertEqual(try events(resumed), ["resumed"], "others see no joined/left pair")
        let broadcast = try XCTUnwrap(resumed.broadcasts.first { $0.kind != .head })
        XCTAssertEqual(broadcast.kind, .joined, "matched by the joining gateway like any join")
        XCTAssertEqual(broadcast.seq, ack["seq"]?.int64Value.map(UInt64.init), "the ack's seq is the resume's")
        // The new connection is the member now; the old grace ends without a `left`.
        XCTAssertNil(
            EngineHarness.failure(
                harness.send(.message(room: "lobby", text: "back", key: ""), gateway: "gw-b", connection: 7, now: 2_300)
            )
        )
        _ = harness.send(.heartbeat, now: 20_000)
        _ = harness.send(.heartbeat, gateway: "gw-b", now: 20_000)
        XCTAssertEqual(try events(harness.engine.tick(now: 20_000)), [])
        XCTAssertEqual(harness.engine.registry.rooms["lobby"]?.memberNames(), ["alice", "bob"])
    }

    func testTheNameOfAConnectedMemberIsStillRefused() throws {
        var (harness, password) = try makeHarness()
        _ = harness.send(.join(room: "lobby", password: password, name: "alice"), connection: 1)
        XCTAssertEqual(
            EngineHarness.failure(harness.send(.join(room: "lobby", password: password, name: "Alice"), connection: 2)),
            .nameInUse
        )
    }

    func testSinceGivesTheMissedMessagesAndWhetherAllAreKept() throws {
        var (harness, password) = try makeHarness(historySize: 3)
        _ = harness.send(.join(room: "lobby", password: password, name: "alice"), connection: 1)
        _ = harness.send(.join(room: "lobby", password: password, name: "bob"), connection: 2)
        for index in 1...2 { _ = harness.send(.message(room: "lobby", text: "m\(index)", key: ""), connection: 2) }
        // alice saw up to seq 3 (m1), then dropped.
        _ = harness.send(.disconnect, connection: 1, now: 2_000)
        _ = harness.send(.message(room: "lobby", text: "m3", key: ""), connection: 2, now: 2_100)
        let complete = try EngineHarness.json(
            harness.send(.join(room: "lobby", password: password, name: "alice", since: 3), connection: 3, now: 2_200)
        )
        XCTAssertEqual(complete["history"]?.arrayValue?.compactMap { $0["text"]?.stringValue }, ["m2", "m3"])
        XCTAssertEqual(complete["complete"], true)
        // Two more messages push m2 out of the 3 kept: a resume from seq 3 misses it.
        _ = harness.send(.disconnect, connection: 3, now: 2_300)
        for index in 4...5 {
            _ = harness.send(.message(room: "lobby", text: "m\(index)", key: ""), connection: 2, now: 2_400)
        }
        let partial = try EngineHarness.json(
            harness.send(.join(room: "lobby", password: password, name: "alice", since: 3), connection: 4, now: 2_500)
        )
        XCTAssertEqual(partial["history"]?.arrayValue?.compactMap { $0["text"]?.stringValue }, ["m3", "m4", "m5"])
        XCTAssertEqual(partial["complete"], false)
        // A since past the room's last event is from another room of that name.
        _ = harness.send(.disconnect, connection: 4, now: 2_600)
        let future = try EngineHarness.json(
            harness.send(.join(room: "lobby", password: password, name: "alice", since: 999), connection: 5, now: 2_700)
        )
        XCTAssertEqual(future["complete"], false)
        XCTAssertEqual(future["history"]?.arrayValue?.count, 3)
        // Without since: as before, no `complete`.
        let plain = try EngineHarness.json(
            harness.send(.join(room: "lobby", password: password, name: "carol"), connection: 6, now: 2_800)
        )
        XCTAssertNil(plain["complete"])
        XCTAssertEqual(plain["history"]?.arrayValue?.count, 3)
    }

    func testALostGatewaysMembersAreDisconnectedNotLeft() throws {
        var (harness, password) = try makeHarness()
        _ = harness.send(.join(room: "lobby", password: password, name: "alice"), gateway: "gw-a", connection: 1)
        _ = harness.send(.join(room: "lobby", password: password, name: "bob"), gateway: "gw-b", connection: 2)
        _ = harness.send(.heartbeat, gateway: "gw-b", now: 6_000)
        let lost = harness.engine.tick(now: 6_500)
        XCTAssertEqual(try events(lost), [], "gw-a dropped: its member is kept")
        XCTAssertEqual(harness.engine.registry.rooms["lobby"]?.memberNames(), ["alice", "bob"])
        XCTAssertTrue(harness.lines.contains { $0.hasPrefix("warning gateway-lost ") && $0.contains("members=1") })
        // It resumes on the other gateway.
        XCTAssertNil(
            EngineHarness.failure(
                harness.send(
                    .join(room: "lobby", password: password, name: "alice", since: 2),
                    gateway: "gw-b",
                    connection: 3,
                    now: 6_600
                )
            )
        )
        _ = harness.send(.heartbeat, gateway: "gw-b", now: 17_000)
        XCTAssertEqual(try events(harness.engine.tick(now: 17_000)), [], "a resumed member is never announced as left")
    }

    /// A gateway killed with its members: they still count as connected until the gateway timeout, but
    /// once their gateway has missed four heartbeats (1 s) their name can be taken over with the password.
    func testAMemberOfASilentGatewayCanBeTakenOverBeforeTheGatewayTimeout() throws {
        var (harness, password) = try makeHarness()
        _ = harness.send(
            .join(room: "lobby", password: password, name: "alice"),
            gateway: "gw-dead",
            connection: 1,
            now: 1_000
        )
        _ = harness.send(.heartbeat, gateway: "gw-live", now: 1_000)
        XCTAssertEqual(
            EngineHarness.failure(
                harness.send(
                    .join(room: "lobby", password: password, name: "alice"),
                    gateway: "gw-live",
                    connection: 7,
                    now: 1_900
                )
            ),
            .nameInUse,
            "its gateway was heard 0.9 s ago: alice may still be there"
        )
        let taken = harness.send(
            .join(room: "lobby", password: password, name: "alice"),
            gateway: "gw-live",
            connection: 7,
            now: 2_100
        )
        XCTAssertEqual(EngineHarness.failure(taken), nil, "silent for 1.1 s: taken over")
        XCTAssertEqual(try events(taken), ["resumed"])
        XCTAssertEqual(harness.engine.registry.rooms["lobby"]?.memberNames(), ["alice"])
        // The dead gateway's later removal does not touch the resumed member.
        XCTAssertEqual(try events(harness.engine.tick(now: 7_000)), [])
        XCTAssertEqual(harness.engine.registry.rooms["lobby"]?.memberNames(), ["alice"])
    }
}
