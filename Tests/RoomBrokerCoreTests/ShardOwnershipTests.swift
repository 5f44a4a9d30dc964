import ChatWire
import RoomBrokerCore
import SocketIO
import XCTest

/// `RoomBroker --shard I/N`: the engine serves only its shard's rooms (docs/PROTOCOL.md, "Shards").
/// Among 2 shards "random" is shard 0's and "lobby" shard 1's (FNV-1a 64 of the name, mod 2).
final class ShardOwnershipTests: XCTestCase {
    func harness(shard: String, _ adjust: (inout RoomRegistryConfiguration) -> Void = { _ in }) throws -> EngineHarness
    {
        var configuration = RoomRegistryConfiguration()
        configuration.shard = try Shard(parsing: shard)
        adjust(&configuration)
        return EngineHarness(configuration: configuration)
    }

    func testTheExampleRoomsAreOnTheShardsThisTestAssumes() {
        XCTAssertEqual(Shard.index(ofRoom: "random", count: 2), 0)
        XCTAssertEqual(Shard.index(ofRoom: "lobby", count: 2), 1)
    }

    func testCommandsAboutAnotherShardsRoomAreRefusedAndChangeNothing() throws {
        var shard = try harness(shard: "0/2")
        let password = try shard.create("random", client: "10.0.0.1")
        _ = try EngineHarness.json(
            shard.send(.join(room: "random", password: password, name: "ann"), client: "10.0.0.1")
        )
        let before = try shard.engine.snapshot().encoded()
        let foreign: [WireCommand.Body] = [
            .create(name: "owner", room: "lobby", key: ""),
            .create(name: "owner", room: " lobby ", key: "k1"),
            .join(room: "lobby", password: password, name: "bob"),
            .leave(room: "lobby"),
            .message(room: "lobby", text: "hi", key: ""),
            .post(room: "lobby", password: password, name: "bot", text: "hi", key: ""),
            .replay(room: "lobby", from: 1, to: 2),
        ]
        for body in foreign {
            let output = shard.send(body, client: "10.0.0.1")
            XCTAssertEqual(EngineHarness.failure(output), .wrongShard, "\(body)")
            XCTAssertEqual(output.broadcasts, [], "\(body)")
            guard case .failure(let error) = output.reply?.result else { continue }
            XCTAssertTrue(error.message.contains("lobby is on shard 1/2"), error.message)
            XCTAssertTrue(error.message.contains("--shard-key"), error.message)
            XCTAssertTrue(error.message.contains("shard 0/2"), error.message)
        }
        XCTAssertEqual(try shard.engine.snapshot().encoded(), before, "a refused command changed the broker's state")
        XCTAssertNil(shard.engine.registry.rooms["lobby"])
        XCTAssertTrue(
            shard.lines.contains { $0.contains("reason=wrong_shard") && $0.contains("room=lobby") },
            "\(shard.lines)"
        )
        // Its own room still works.
        XCTAssertNotNil(
            try EngineHarness.json(
                shard.send(.message(room: "random", text: "still here", key: ""), client: "10.0.0.1")
            )["seq"]
        )
    }

    func testTheOtherShardServesTheRoom() throws {
        var shard = try harness(shard: "1/2")
        let password = try shard.create("lobby")
        XCTAssertEqual(
            try EngineHarness.json(shard.send(.join(room: "lobby", password: password, name: "bob")))["count"],
            1
        )
        XCTAssertEqual(EngineHarness.failure(shard.send(.create(name: "owner", room: "random", key: ""))), .wrongShard)
    }

    func testARefusedCreateDoesNotCountAgainstTheCreateLimits() throws {
        var shard = try harness(shard: "0/2") { $0.createsPerConnection = 1 }
        for _ in 0..<3 {
            XCTAssertEqual(
                EngineHarness.failure(shard.send(.create(name: "owner", room: "lobby", key: ""), connection: 5)),
                .wrongShard
            )
        }
        XCTAssertNotNil(
            try EngineHarness.json(shard.send(.create(name: "owner", room: "random", key: ""), connection: 5))[
                "password"
            ]
        )
    }

    func testGeneratedNamesAreTheShardsOwn() throws {
        for index in 0..<3 {
            var shard = try harness(shard: "\(index)/3")
            for number in 0..<40 {
                let json = try EngineHarness.json(
                    shard.send(
                        .create(name: "owner", room: "", key: ""),
                        connection: UInt64(number),
                        client: "10.0.\(index).\(number)"
                    )
                )
                let room = try XCTUnwrap(json["room"]?.stringValue)
                XCTAssertEqual(Shard.index(ofRoom: room, count: 3), index, room)
            }
            XCTAssertEqual(shard.engine.registry.rooms.count, 40)
        }
    }

    func testAnUnshardedBrokerServesEveryRoom() throws {
        var whole = EngineHarness()
        for room in ["random", "lobby", "general"] { _ = try whole.create(room) }
        XCTAssertEqual(whole.engine.registry.rooms.count, 3)
    }

    func testNameDrawsForAShardAreBounded() throws {
        // A generator that always draws the same number (never rejected by the
        // bounded-range sampling) gives the same name every time, three draws per name.
        struct Constant: RandomNumberGenerator {
            var draws = 0
            mutating func next() -> UInt64 {
                draws += 1
                return (1 << 63) + 1
            }
        }
        var constant = Constant()
        let name = try XCTUnwrap(RoomNameGenerator.generate(using: &constant) { _ in false })
        XCTAssertEqual(constant.draws, 3)
        let owner = Shard.index(ofRoom: name, count: 2)
        XCTAssertEqual(
            RoomNameGenerator.generate(using: &constant, in: try Shard(index: owner, count: 2)) { _ in false },
            name
        )
        constant.draws = 0
        XCTAssertNil(
            RoomNameGenerator.generate(using: &constant, in: try Shard(index: 1 - owner, count: 2)) { _ in false }
        )
        XCTAssertEqual(constant.draws, 3 * RoomNameGenerator.drawsPerShard * 2, "64 names per shard, then it gives up")
    }
}

/// A pair serving one shard: the standby computes the same generated names and refusals.
final class ShardedPairTests: XCTestCase {
    func startedPair(shards: [Shard]) -> BrokerPairTests.Pair {
        var pair = BrokerPairTests.Pair(shards: shards)
        pair.advance(900)
        XCTAssertEqual(pair.nodes[0].standby, .inSync, "\(pair.lines.suffix(5))")
        pair.send(.hello(gatewayName: "gw"), to: 0)
        return pair
    }

    func testTheStandbyOfAShardKeepsItsRoomsAndItsRefusalsAfterATakeover() throws {
        let shard = try Shard(index: 1, count: 2)
        var pair = startedPair(shards: [shard, shard])
        var rooms: [String] = []
        for connection in UInt64(1)...6 {
            let create = pair.send(.create(name: "owner", room: "", key: ""), to: 0, connection: connection)
            rooms.append(try XCTUnwrap(pair.success(create).room))
        }
        XCTAssertTrue(rooms.allSatisfy(shard.owns(room:)), "\(rooms)")
        let foreign = pair.send(.create(name: "owner", room: "random", key: ""), to: 0)
        XCTAssertEqual(pair.failure(foreign), .wrongShard)
        XCTAssertFalse(pair.lines.contains { $0.contains("standby-diverged") }, "\(pair.lines.suffix(5))")
        // The active dies; the standby takes over with the same rooms and the same shard.
        pair.advance(1_100, alive: [false, true])
        let hello = pair.send(.hello(gatewayName: "gw"), to: 1, settle: [false, true])
        XCTAssertNotNil(try? pair.success(hello))
        let list = pair.send(.listRooms(after: "", limit: 0), to: 1, settle: [false, true])
        let page = try RoomListPage(json: pair.success(list).json)
        XCTAssertEqual(page.rooms.map(\.room), rooms.sorted())
        let join = pair.send(.join(room: "random", password: "x", name: "n"), to: 1, settle: [false, true])
        XCTAssertEqual(pair.failure(join), .wrongShard)
        let own = pair.send(.create(name: "o", room: "lobby", key: ""), to: 1, settle: [false, true])
        XCTAssertNotNil(try? pair.success(own))
    }

    func testAStandbyStartedWithAnotherShardSaysSoAndFollowsTheActive() throws {
        var pair = startedPair(shards: [try Shard(index: 1, count: 2), try Shard(index: 0, count: 2)])
        XCTAssertTrue(
            pair.lines.contains { $0.contains("shard-mismatch") && $0.contains("--shard 0/2") },
            "\(pair.lines.suffix(5))"
        )
        pair.advance(1_100, alive: [false, true])
        pair.send(.hello(gatewayName: "gw"), to: 1, settle: [false, true])
        let create = pair.send(.create(name: "o", room: "random", key: ""), to: 1, settle: [false, true])
        XCTAssertEqual(pair.failure(create), .wrongShard)
    }
}
