import ChatWire
import NIOPosix
import SocketIO
import XCTest

@testable import GatewayCore

/// The gateway's parts of connection-state recovery without sockets: the link follows the rooms of a
/// resumed session, events keep their broker-wide number, offsets are appended only with the flag,
/// and the session ids.
final class ConnectionStateRecoveryGatewayTests: XCTestCase {
    typealias State = BrokerLinkState<String>

    func registered() throws -> State {
        var state = State(
            configuration: BrokerLinkConfiguration(
                commandsEndpoint: "inproc://c",
                broadcastsEndpoint: "inproc://b",
                gatewayID: "gw-test"
            )
        )
        let hello = try XCTUnwrap(
            state.tick(now: 0).compactMap { if case .send(let command, _) = $0 { return command } else { return nil } }
                .first
        )
        _ = state.received(WireReply(to: hello, result: .success(.init(instance: "inst-1"))), now: 0)
        return state
    }

    func sent(_ actions: [State.Action]) -> [WireCommand] {
        actions.compactMap { if case .send(let command, _) = $0 { return command } else { return nil } }
    }

    func testAResumeReplyFollowsEachRoomFromItsResumedSeq() throws {
        var state = try registered()
        _ = state.handle(.follow("lobby"), now: 10)  // another local member already follows lobby
        _ = state.received(
            WireBroadcast(kind: .head, room: "lobby", seq: 4, gateway: "", connectionID: 0, payload: []),
            now: 10
        )
        _ = state.received(
            try XCTUnwrap(
                sent(
                    state.handle(
                        .command(
                            .join(room: "lobby", password: "p", name: "n"),
                            connectionID: 1,
                            client: "",
                            caller: "join"
                        ),
                        now: 10
                    )
                ).first
            ).reply(seq: 5),
            now: 10
        )
        let resume = try XCTUnwrap(
            sent(
                state.handle(
                    .command(
                        .resume(pid: "0123456789abcdef0123456789abcdef", instance: "inst-1", since: 3),
                        connectionID: 2,
                        client: "",
                        caller: "resume"
                    ),
                    now: 20
                )
            ).first
        )
        let actions = state.received(
            WireReply(
                to: resume,
                result: .success(
                    .init(
                        rooms: [.init(room: "lobby", seq: 6), .init(room: "other", seq: 9)],
                        instance: "inst-1"
                    )
                )
            ),
            now: 20
        )
        let subscribed = actions.compactMap { if case .subscribe(let room) = $0 { return room } else { return nil } }
        XCTAssertEqual(subscribed, ["other"], "lobby is followed already; other is subscribed for the session")
        XCTAssertEqual(state.feed.expectedSeq(of: "other"), 10, "the feed expects the event after the resumed one")
        XCTAssertEqual(state.feed.expectedSeq(of: "lobby"), 6, "a followed room keeps its place")
        let delivered = state.received(
            WireBroadcast(kind: .message, room: "other", seq: 10, gseq: 77, gateway: "", connectionID: 0, payload: [1]),
            now: 30
        )
        XCTAssertEqual(
            delivered.compactMap { if case .deliver(let frame) = $0 { return frame } else { return nil } },
            [RoomBroadcastFrame(room: "other", seq: 10, gseq: 77, instance: "inst-1", payload: [1])]
        )
        XCTAssertEqual(
            state.handle(.unfollow("other"), now: 40).count,
            1,
            "one follow per resumed room, released by the session"
        )
    }

    func testOffsetsAreAppendedOnlyWithTheFlag() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let frame = RoomBroadcastFrame(
            room: "r",
            seq: 3,
            gseq: 41,
            instance: "k3x9",
            payload: Array(#"42["message",{"seq":3}]"#.utf8)
        )
        let plain = BroadcastFanOut(group: group, metrics: GatewayMetrics())
        XCTAssertEqual(
            String(decoding: plain.text(of: frame), as: UTF8.self),
            #"42["message",{"seq":3}]"#,
            "off by default: the broker's bytes"
        )
        let recovering = BroadcastFanOut(group: group, metrics: GatewayMetrics(), appendsOffsets: true)
        XCTAssertEqual(
            String(decoding: recovering.text(of: frame), as: UTF8.self),
            #"42["message",{"seq":3},"k3x9.41"]"#
        )
    }

    func testSessionIDs() {
        let pid = RecoveryIDs.newPid()
        XCTAssertTrue(RecoveryIDs.isPid(pid))
        XCTAssertNotEqual(pid, RecoveryIDs.newPid())
        XCTAssertFalse(RecoveryIDs.isPid(pid.uppercased() + ""), "lowercase hex only")
        XCTAssertFalse(RecoveryIDs.isPid(String(pid.dropLast())))
        XCTAssertEqual(RecoveryIDs.sid(forPid: pid), RecoveryIDs.sid(forPid: pid), "any gateway answers the same sid")
        XCTAssertEqual(RecoveryIDs.sid(forPid: pid).count, 20)
        XCTAssertFalse(pid.contains(RecoveryIDs.sid(forPid: pid)))
    }
}

extension WireCommand {
    fileprivate func reply(seq: UInt64) -> WireReply {
        WireReply(to: self, result: .success(.init(room: "lobby", seq: seq)))
    }
}
