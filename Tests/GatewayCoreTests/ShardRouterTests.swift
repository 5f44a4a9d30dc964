import ChatWire
import GatewayTestSupport
import SocketIO
import Synchronization
import XCTest

@testable import GatewayCore

/// ``ShardRouter`` over fake links: which shard each command, follow and unfollow goes to, and how the
/// answers of several shards are combined. Among 2 shards "random" is shard 0's and "lobby" shard 1's.
final class ShardRouterTests: XCTestCase {
    /// A link that records what it is asked and answers with `answer` at once (by default an empty success).
    func fakeLink(
        reachable: Bool = true,
        answer: @escaping FakeBrokerClient.Answer = { _ in .success(.init()) }
    ) -> FakeBrokerClient {
        FakeBrokerClient(reachable: reachable, answer: answer)
    }

    /// Sends `body` through `router` and returns its outcome (the fakes answer at once).
    func outcome(_ router: ShardRouter, _ body: WireCommand.Body) throws -> Result<WireReply.Success, ChatError> {
        let result = Mutex<Result<WireReply.Success, ChatError>?>(nil)
        router.send(body, connectionID: 7, client: "10.0.0.1") { outcome in result.withLock { $0 = outcome } }
        return try XCTUnwrap(result.withLock { $0 }, "no answer to \(body)")
    }

    func testRoomCommandsFollowsAndUnfollowsGoToTheRoomsShard() throws {
        let links = [fakeLink(), fakeLink()]
        let router = ShardRouter(links: links)
        let roomCommands: [WireCommand.Body] = [
            .join(room: "lobby", password: "p", name: "n"), .leave(room: "lobby"),
            .message(room: "lobby", text: "t", key: ""),
            .post(room: "lobby", password: "p", name: "n", text: "t", key: ""),
            .create(name: "n", room: "lobby", key: "k"),
            .message(room: "random", text: "t", key: ""),
        ]
        for body in roomCommands { _ = try outcome(router, body) }
        XCTAssertEqual(links[1].sent, Array(roomCommands.prefix(5)))
        XCTAssertEqual(links[0].sent, [roomCommands[5]])
        router.follow("lobby")
        router.follow("random")
        router.unfollow("lobby")
        XCTAssertEqual(links[1].follows, ["lobby"])
        XCTAssertEqual(links[1].unfollows, ["lobby"])
        XCTAssertEqual(links[0].follows, ["random"])
        XCTAssertEqual(links[0].unfollows, [])
    }

    func testNamelessCreatesTakeTheShardsInTurnSkippingOnesThatDoNotAnswer() throws {
        let links = [fakeLink(), fakeLink(), fakeLink()]
        let router = ShardRouter(links: links)
        for _ in 0..<6 { _ = try outcome(router, .create(name: "n", room: "", key: "")) }
        XCTAssertEqual(links.map(\.sent.count), [2, 2, 2])
        links[1].reachable.store(false, ordering: .relaxed)
        for _ in 0..<6 { _ = try outcome(router, .create(name: "n", room: "", key: "")) }
        XCTAssertEqual(links.map(\.sent.count), [5, 2, 5])
    }

    func testANamelessCreateWithAKeyGoesToTheKeysShard() throws {
        // A retry with the same id lands on the same shard from any gateway, so it is applied once there.
        let links = [fakeLink(), fakeLink()]
        let router = ShardRouter(links: links)
        for _ in 0..<3 { _ = try outcome(router, .create(name: "n", room: "", key: "lobby")) }
        XCTAssertEqual(links.map(\.sent.count), [0, 3])
    }

    func testRoomListsAreMergedFromEveryShard() throws {
        func pageAnswer(_ page: RoomListPage) -> @Sendable (WireCommand.Body) -> Result<WireReply.Success, ChatError> {
            { _ in .success(WireReply.Success(json: page.json)) }
        }
        func entry(_ room: String) -> RoomListPage.Entry { .init(room: room, members: 1, created: 5) }
        let links = [
            fakeLink(answer: pageAnswer(RoomListPage(rooms: [entry("b"), entry("d")], next: "d"))),
            fakeLink(answer: pageAnswer(RoomListPage(rooms: [entry("a"), entry("c")], next: nil))),
        ]
        let router = ShardRouter(links: links)
        let success = try outcome(router, .listRooms(after: "", limit: 2)).get()
        XCTAssertEqual(try RoomListPage(json: success.json), RoomListPage(rooms: [entry("a"), entry("b")], next: "b"))
        XCTAssertEqual(links[0].sent, [.listRooms(after: "", limit: 2)])
        XCTAssertEqual(links[1].sent, [.listRooms(after: "", limit: 2)])
    }

    func testOneShardsFailureFailsTheRoomList() throws {
        let down = ChatError(.brokerUnavailable, "down")
        let links = [
            fakeLink(answer: { _ in .success(WireReply.Success(json: RoomListPage(rooms: [], next: nil).json)) }),
            fakeLink(answer: { _ in .failure(down) }),
        ]
        XCTAssertEqual(try outcome(ShardRouter(links: links), .listRooms(after: "", limit: 10)), .failure(down))
    }

    func testDisconnectGoesToEveryShard() throws {
        let links = [fakeLink(), fakeLink(), fakeLink()]
        let router = ShardRouter(links: links)
        router.send(.disconnect, connectionID: 3, completion: nil)
        for link in links { XCTAssertEqual(link.sent, [.disconnect]) }
    }

    func testResumeNeedsASingleShard() throws {
        let links = [fakeLink(), fakeLink()]
        let result = try outcome(ShardRouter(links: links), .resume(pid: "p", instance: "i", since: 3))
        guard case .failure(let error) = result else { return XCTFail("resume should fail with two shards") }
        XCTAssertEqual(error.code, .replayUnavailable)
        XCTAssertEqual(links.map(\.sent.count), [0, 0])
    }

    func testWithOneShardEverythingPassesStraightThrough() throws {
        let link = fakeLink()
        let router = ShardRouter(links: [link])
        let bodies: [WireCommand.Body] = [
            .resume(pid: "p", instance: "i", since: nil), .listRooms(after: "", limit: 5),
            .create(name: "n", room: "", key: ""),
            .join(room: "lobby", password: "p", name: "n"),
        ]
        for body in bodies { _ = try outcome(router, body) }
        XCTAssertEqual(link.sent, bodies)
    }

    func testReadyOnlyWhenEveryShardAnswers() async throws {
        let links = [fakeLink(), fakeLink(reachable: false)]
        let router = ShardRouter(links: links)
        XCTAssertFalse(router.isBrokerReachable)
        links[1].reachable.store(true, ordering: .relaxed)
        XCTAssertTrue(router.isBrokerReachable)
        try await router.start()
        await router.stop()
        for link in links {
            XCTAssertTrue(link.isStarted && link.isStopped)
        }
    }

    func testBrokersAreSplitIntoShardsInOrder() throws {
        XCTAssertEqual(try ShardRouter.split(["a", "b"], shards: 2), [["a"], ["b"]])
        XCTAssertEqual(try ShardRouter.split(["a1", "a2", "b1", "b2"], shards: 2), [["a1", "a2"], ["b1", "b2"]])
        XCTAssertEqual(try ShardRouter.split(["a"], shards: 1), [["a"]])
        XCTAssertEqual(try ShardRouter.split(["a", "b"], shards: 1), [["a", "b"]])
        for (count, shards) in [(3, 2), (1, 2), (5, 2), (0, 1)] {
            XCTAssertThrowsError(try ShardRouter.split(Array(repeating: "x", count: count), shards: shards)) { error in
                XCTAssertEqual(error as? ShardRouter.Invalid, .brokerCount(brokers: count, shards: shards))
            }
        }
        XCTAssertTrue(
            "\(ShardRouter.Invalid.brokerCount(brokers: 3, shards: 2))".contains("give 2 brokers (one per shard) or 4")
        )
    }
}
