import ChatWire
import Foundation
import Logging
import RoomBrokerCore
import SocketIO
import XCTest

/// The `status` command: what a broker (alone, or either broker of a pair) says of itself, how members
/// are counted per gateway, and that status is neither replicated nor rebuilt for every gateway.
final class BrokerStatusTests: XCTestCase {
    private let gateway = Array("gw".utf8)

    private func report(
        _ reply: WireReply?,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> BrokerStatusReport {
        guard case .success(let success)? = reply?.result, reply?.kind == .status else {
            XCTFail("expected a status success, got \(String(describing: reply))", file: file, line: line)
            throw ChatError(.internalError, "no status")
        }
        XCTAssertLessThanOrEqual(success.json.count, BrokerStatusReport.maxBytes, file: file, line: line)
        return try JSONDecoder().decode(BrokerStatusReport.self, from: Data(success.json))
    }

    /// A node alone, as the broker loop drives it, and the reply it gives each frame.
    private struct Alone {
        var node = BrokerNode(
            configuration: RoomRegistryConfiguration(),
            gatewayTimeoutMilliseconds: 5_000,
            pair: nil,
            logger: LogRecorder().logger,
            now: 1_000
        )
        var requestID: UInt32 = 0

        mutating func send(
            _ body: WireCommand.Body,
            from gateway: String,
            connection: UInt64 = 1,
            now: UInt64 = 1_000
        ) -> WireReply? {
            requestID += 1
            let frame = WireCommand(requestID: requestID, connectionID: connection, sentAt: now, body: body).encoded()
            let actions = node.command(
                identity: Array(gateway.utf8),
                frame: frame,
                now: BrokerClock(integerLiteral: now)
            )
            for case .reply(_, let reply) in actions { return try? WireReply.decode(reply) }
            return nil
        }

        mutating func password(of room: String) throws -> String {
            guard
                case .success(let success)? = send(
                    .create(name: "owner", room: room, key: ""),
                    from: "gw-a",
                    connection: 99
                )?.result
            else {
                throw ChatError(.internalError, "create failed")
            }
            return try XCTUnwrap(try JSONValue.parse(success.json, limits: .trusted)["password"]?.stringValue)
        }
    }

    func testABrokerAloneCountsRoomsMembersAndMembersPerGateway() throws {
        var broker = Alone()
        for id in ["gw-a", "gw-b"] { _ = broker.send(.hello(gatewayName: id), from: id) }
        let lobby = try broker.password(of: "lobby")
        let other = try broker.password(of: "other")
        _ = broker.send(.join(room: "lobby", password: lobby, name: "ann"), from: "gw-a", connection: 1)
        _ = broker.send(.join(room: "other", password: other, name: "ann"), from: "gw-a", connection: 1)
        _ = broker.send(.join(room: "lobby", password: lobby, name: "bob"), from: "gw-b", connection: 7)
        // A retried join changes nothing and counts nothing twice.
        _ = broker.send(.join(room: "lobby", password: lobby, name: "bob"), from: "gw-b", connection: 7)

        let status = try report(broker.send(.status, from: "gw-b", now: 1_400))
        XCTAssertEqual(status.role, .alone)
        XCTAssertEqual(status.term, 1)
        XCTAssertNil(status.replication)
        XCTAssertEqual(status.rooms, 2)
        XCTAssertEqual(status.members, 3)
        XCTAssertEqual(status.connectedMembers, 3)
        XCTAssertEqual(status.gatewayCount, 2)
        // Asking for the status is no heartbeat: gw-b, which asked, was last heard at 1 000 too.
        XCTAssertEqual(
            status.gateways,
            [
                .init(id: "gw-a", members: 2, silentMs: 400),
                .init(id: "gw-b", members: 1, silentMs: 400),
            ]
        )
    }

    func testMembersPerGatewayFollowLeavesDisconnectsAndResumes() throws {
        var broker = Alone()
        for id in ["gw-a", "gw-b"] { _ = broker.send(.hello(gatewayName: id), from: id) }
        let lobby = try broker.password(of: "lobby")
        _ = broker.send(.join(room: "lobby", password: lobby, name: "ann"), from: "gw-a", connection: 1)
        _ = broker.send(.join(room: "lobby", password: lobby, name: "bob"), from: "gw-a", connection: 2)
        _ = broker.send(.leave(room: "lobby"), from: "gw-a", connection: 2)
        _ = broker.send(.disconnect, from: "gw-a", connection: 1)
        // Kept for the session grace: still a member, no longer connected.
        var status = broker.node.statusReport(now: 1_000)
        XCTAssertEqual(status.members, 1)
        XCTAssertEqual(status.connectedMembers, 0)
        XCTAssertEqual(status.gateways.map(\.members), [0, 0])
        // Resumed through the other gateway: counted there.
        _ = broker.send(.join(room: "lobby", password: lobby, name: "ann"), from: "gw-b", connection: 5)
        status = broker.node.statusReport(now: 1_000)
        XCTAssertEqual(status.connectedMembers, 1)
        XCTAssertEqual(
            status.gateways,
            [.init(id: "gw-a", members: 0, silentMs: 0), .init(id: "gw-b", members: 1, silentMs: 0)]
        )
    }

    func testTheGatewayListIsBoundedAndCountsThemAll() throws {
        var broker = Alone()
        let ids = (0..<(BrokerStatusReport.maxGateways + 6)).map {
            "gw-\(String($0 + 100))-" + String(repeating: "x", count: 200)
        }
        for id in ids { _ = broker.send(.hello(gatewayName: "g"), from: id) }
        let status = try report(broker.send(.status, from: ids[0]))
        XCTAssertEqual(status.gatewayCount, ids.count)
        XCTAssertEqual(status.gateways.count, BrokerStatusReport.maxGateways)
        XCTAssertEqual(
            status.gateways.first?.id,
            String(ids.sorted()[0].prefix(BrokerStatusReport.maxGatewayIDBytes - 3)) + "…"
        )
        XCTAssertTrue(status.gateways.allSatisfy { $0.id.utf8.count <= BrokerStatusReport.maxGatewayIDBytes })
    }

    func testAStatusReplyIsReusedForASecondHoweverManyGatewaysAsk() throws {
        var broker = Alone()
        _ = broker.send(.hello(gatewayName: "gw-a"), from: "gw-a")
        let lobby = try broker.password(of: "lobby")
        let first = try report(broker.send(.status, from: "gw-a", now: 2_000))
        _ = broker.send(.join(room: "lobby", password: lobby, name: "ann"), from: "gw-a", now: 2_100)
        for id in ["gw-x", "gw-y", "gw-z"] {
            XCTAssertEqual(
                try report(broker.send(.status, from: id, now: 2_999)),
                first,
                "built again within the second"
            )
        }
        let later = try report(broker.send(.status, from: "gw-a", now: 3_000))
        XCTAssertEqual(later.connectedMembers, 1)
    }

    func testAStatusFrameThatDoesNotDecodeIsRefusedLikeAnyOther() throws {
        var broker = Alone()
        var frame = WireCommand(requestID: 3, connectionID: 0, body: .status).encoded()
        frame.append(0)  // a byte past the last field
        let actions = broker.node.command(identity: gateway, frame: frame, now: 1_000)
        guard case .reply(_, let bytes)? = actions.first, case .failure(let error) = try WireReply.decode(bytes).result
        else {
            return XCTFail("expected a refusal, got \(actions)")
        }
        XCTAssertEqual(error.code, .badRequest)
    }

    func testBothBrokersOfAPairAnswerStatusAndNothingIsReplicated() throws {
        var pair = BrokerPairTests.Pair()
        pair.advance(600)
        pair.advance(300)
        XCTAssertEqual(pair.nodes[0].standby, .inSync)
        pair.send(.hello(gatewayName: "gw"), to: 0)
        pair.send(.create(name: "owner", room: "lobby", key: "k1"), to: 0)
        let updates = pair.nodes[0].lastUpdate

        let toActive = pair.send(.status, to: 0)
        let toStandby = pair.send(.status, to: 1)
        let active = try report(pair.replies[toActive])
        let standby = try report(pair.replies[toStandby])
        XCTAssertEqual(pair.nodes[0].lastUpdate, updates, "a status is not an update of the state")
        XCTAssertEqual(pair.nodes[1].lastUpdate, updates)

        XCTAssertEqual(active.role, .active)
        XCTAssertEqual(active.term, 1)
        XCTAssertEqual(active.rooms, 1)
        XCTAssertEqual(active.gatewayCount, 1)
        XCTAssertEqual(active.replication?.state, .standbyInSync)
        XCTAssertEqual(active.replication?.heldOutputs, 0)
        XCTAssertEqual(active.replication?.unacknowledged, 0)
        XCTAssertNotNil(active.replication?.sinceLastMs)

        XCTAssertEqual(standby.role, .standby, "the standby answers status instead of not_active")
        XCTAssertEqual(standby.instance, active.instance)
        XCTAssertEqual(standby.rooms, 1, "the standby's copy of the rooms")
        XCTAssertEqual(standby.replication?.state, .following)
        XCTAssertEqual(standby.updates, updates)
    }

    func testAnActiveWhoseStandbyFellSilentSaysItAcknowledgesAlone() throws {
        var pair = BrokerPairTests.Pair()
        pair.advance(900)
        pair.send(.hello(gatewayName: "gw"), to: 0)
        // The gateway keeps its heartbeats: the active hears a quorum and goes on alone.
        for _ in 0..<6 {
            pair.advance(250, alive: [true, false])
            pair.send(.heartbeat, to: 0, settle: [true, false])
        }
        let request = pair.send(.status, to: 0, settle: nil)
        let active = try report(pair.replies[request])
        XCTAssertEqual(active.role, .active)
        XCTAssertEqual(active.replication?.state, .standbyAbsent)
    }
}
