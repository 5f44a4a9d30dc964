import ChatWire
import RoomBrokerCore
import XCTest

/// A gateway whose connection closed (a killed process): its members can be taken over at once.
extension SessionGraceTests {
    /// alice joined through gw-dead; gw-live is up.
    private func harnessWithAliceOnADeadGateway() throws -> (EngineHarness, String) {
        var (harness, password) = try makeHarness()
        _ = harness.send(
            .join(room: "lobby", password: password, name: "alice"),
            gateway: "gw-dead",
            connection: 1,
            now: 1_000
        )
        _ = harness.send(.heartbeat, gateway: "gw-live", now: 1_000)
        return (harness, password)
    }

    func testAMemberOfAClosedGatewayIsTakenOverAtOnce() throws {
        var (harness, password) = try harnessWithAliceOnADeadGateway()
        _ = harness.engine.gatewayClosed("gw-dead", now: 1_050)
        XCTAssertTrue(harness.lines.contains { $0.contains("gateway-closed") && $0.contains("gw-dead") })
        let taken = harness.send(
            .join(room: "lobby", password: password, name: "alice"),
            gateway: "gw-live",
            connection: 7,
            now: 1_200
        )
        XCTAssertEqual(EngineHarness.failure(taken), nil, "its gateway's connection closed 0.15 s ago: taken over")
        XCTAssertEqual(try events(taken), ["resumed"])
        XCTAssertEqual(harness.engine.registry.rooms["lobby"]?.memberNames(), ["alice"])
    }

    func testAGatewayThatSpeaksAfterItsConnectionClosedKeepsItsMembers() throws {
        var (harness, password) = try harnessWithAliceOnADeadGateway()
        _ = harness.engine.gatewayClosed("gw-dead", now: 1_050)
        // libzmq reconnected it: its next heartbeat says it is alive.
        _ = harness.send(.heartbeat, gateway: "gw-dead", now: 1_100)
        XCTAssertEqual(
            EngineHarness.failure(
                harness.send(
                    .join(room: "lobby", password: password, name: "alice"),
                    gateway: "gw-live",
                    connection: 7,
                    now: 1_200
                )
            ),
            .nameInUse
        )
    }

    func testAClosedGatewayReachesTheStandbyAsAnInput() throws {
        var (harness, _) = try harnessWithAliceOnADeadGateway()
        var standby = BrokerEngine(snapshot: harness.engine.snapshot(), logger: harness.recorder.logger)
        let input = BrokerInput.gatewayClosed(gateway: "gw-dead", now: 1_050)
        var writer = WireWriter()
        input.write(to: &writer)
        var reader = try WireReader(writer.bytes)
        XCTAssertEqual(try BrokerInput.read(from: &reader), input)
        _ = harness.engine.gatewayClosed("gw-dead", now: 1_050)
        _ = standby.apply(input)
        XCTAssertTrue(standby.gateways.isClosed("gw-dead"))
        XCTAssertFalse(standby.gateways.isClosed("gw-live"))
        XCTAssertEqual(standby.gateways.entries, harness.engine.gateways.entries)
    }
}
