import ChatWire
import RoomBrokerCore
import SocketIO
import XCTest

/// A member's identity is its resume token: a join with it takes the membership over at once, and the
/// connection that had it is told; a name and password alone never take over a live member.
extension SessionGraceTests {
    /// alice joined on gw-a connection 1 (both gateways up); returns the harness, password and token.
    private func aliceWithToken() throws -> (EngineHarness, String, String) {
        var (harness, password) = try makeHarness()
        let ack = try EngineHarness.json(
            harness.send(.join(room: "lobby", password: password, name: "alice"), gateway: "gw-a", connection: 1)
        )
        _ = harness.send(.heartbeat, gateway: "gw-b")
        let token = try XCTUnwrap(ack["token"]?.stringValue)
        XCTAssertEqual(try FieldValidator.token(token), token, "32 hex digits")
        return (harness, password, token)
    }

    func testAJoinWithTheTokenTakesALiveMembershipOverAndTellsTheOldConnection() throws {
        var (harness, password, token) = try aliceWithToken()
        let taken = harness.send(
            .join(room: "lobby", password: password, name: "alice", token: token),
            gateway: "gw-b",
            connection: 7
        )
        let ack = try EngineHarness.json(taken)
        XCTAssertEqual(try events(taken), ["resumed"])
        let notice = try XCTUnwrap(taken.broadcasts.first { $0.kind == .takenOver })
        XCTAssertEqual([notice.gateway, "\(notice.connectionID)"], ["gw-a", "1"], "for the old connection only")
        XCTAssertEqual(
            String(decoding: notice.payload, as: UTF8.self),
            #"42["removed",{"room":"lobby","name":"alice","reason":"taken_over"}]"#
        )
        let newToken = try XCTUnwrap(ack["token"]?.stringValue)
        XCTAssertNotEqual(newToken, token, "each join gives a new token")
        XCTAssertEqual(harness.engine.registry.rooms["lobby"]?.memberNames(), ["alice"])
        XCTAssertEqual(
            EngineHarness.failure(
                harness.send(.message(room: "lobby", text: "x", key: ""), gateway: "gw-a", connection: 1)
            ),
            .notMember,
            "the old connection is out of the room"
        )
        // The old token stopped working: the new connection is live, so alice's name is in use.
        XCTAssertEqual(
            EngineHarness.failure(
                harness.send(.join(room: "lobby", password: password, name: "alice", token: token), connection: 9)
            ),
            .nameInUse
        )
        XCTAssertFalse(harness.lines.contains { $0.contains(token) || $0.contains(newToken) }, "never logged")
    }

    func testWithoutTheTokenALiveMemberIsNotTakenOver() throws {
        var (harness, password, _) = try aliceWithToken()
        for token in ["", String(repeating: "0", count: FieldValidator.tokenLength)] {
            let refused = harness.send(
                .join(room: "lobby", password: password, name: "alice", token: token),
                gateway: "gw-b",
                connection: 7
            )
            XCTAssertEqual(EngineHarness.failure(refused), .nameInUse, "token \(token)")
        }
        XCTAssertEqual(
            EngineHarness.failure(
                harness.send(.join(room: "lobby", password: password, name: "bob", token: "not-hex"), connection: 8)
            ),
            .badRequest
        )
    }

    func testARetriedJoinGetsAFreshTokenAndAStandbyKnowsTheTokens() throws {
        var (harness, password, token) = try aliceWithToken()
        let retried = try EngineHarness.json(
            harness.send(.join(room: "lobby", password: password, name: "alice"), gateway: "gw-a", connection: 1)
        )
        let fresh = try XCTUnwrap(retried["token"]?.stringValue)
        XCTAssertNotEqual(fresh, token)
        // A standby that loaded a snapshot (the token's hash is in it) lets the token in.
        let bytes = try harness.engine.snapshot().encoded()
        var standby = BrokerEngine(snapshot: try BrokerSnapshot.decode(bytes), logger: harness.recorder.logger)
        let command = WireCommand(
            requestID: 5,
            connectionID: 7,
            body: .join(room: "lobby", password: password, name: "alice", token: fresh)
        )
        _ = standby.handle(
            frame: WireCommand(requestID: 1, connectionID: 0, body: .hello(gatewayName: "gw-b")).encoded(),
            from: "gw-b",
            now: 1_000
        )
        let taken = standby.handle(frame: command.encoded(), from: "gw-b", now: 1_000)
        XCTAssertNil(EngineHarness.failure(taken))
        XCTAssertTrue(taken.broadcasts.contains { $0.kind == .takenOver })
    }
}
