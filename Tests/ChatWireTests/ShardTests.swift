import ChatWire
import XCTest

/// The room → shard function both sides use (docs/PROTOCOL.md, "Shards").
final class ShardTests: XCTestCase {
    func testFNV1a64MatchesTheReferenceVectors() {
        // From the FNV reference test suite (draft-eastlake-fnv).
        XCTAssertEqual(FNV1a64.hash([UInt8]()), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(FNV1a64.hash(Array("a".utf8)), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(FNV1a64.hash(Array("foobar".utf8)), 0x8594_4171_f739_67e8)
        var stepwise = FNV1a64()
        stepwise.add(contentsOf: "foo".utf8)
        stepwise.add(contentsOf: "bar".utf8)
        XCTAssertEqual(stepwise.value, 0x8594_4171_f739_67e8)
    }

    func testARoomsShardIsItsHashModuloTheCount() {
        // 0x1ccae3b6ef72f533 and 0xaab5ce126d477a82.
        XCTAssertEqual(Shard.index(ofRoom: "lobby", count: 2), 1)
        XCTAssertEqual(Shard.index(ofRoom: "lobby", count: 3), 1)
        XCTAssertEqual(Shard.index(ofRoom: "random", count: 2), 0)
        XCTAssertEqual(Shard.index(ofRoom: "random", count: 3), 2)
        XCTAssertEqual(Shard.index(ofRoom: "anything", count: 1), 0)
        let zeroOfTwo = try! Shard(index: 0, count: 2)
        XCTAssertTrue(zeroOfTwo.owns(room: "random"))
        XCTAssertFalse(zeroOfTwo.owns(room: "lobby"))
        XCTAssertTrue(Shard.whole.owns(room: "lobby"))
        XCTAssertTrue(Shard.whole.owns(room: "random"))
    }

    func testAKeyedShardPlacesBySipHashOfTheName() throws {
        // The key 00 01 … 0f: SipHash-2-4 of the empty name is the reference's first vector.
        let key = try XCTUnwrap(ShardKey(bytes: (0..<16).map { UInt8($0) }))
        XCTAssertEqual(key.hash(room: ""), 0x726f_db47_dd0e_0e31)
        XCTAssertEqual(Shard.index(ofRoom: "", count: 7, key: key), Int(0x726f_db47_dd0e_0e31 % 7))
        let other = try XCTUnwrap(ShardKey(bytes: [UInt8](repeating: 7, count: 16)))
        let rooms = (0..<64).map { "room-\($0)" }
        XCTAssertNotEqual(
            rooms.map { Shard.index(ofRoom: $0, count: 2, key: key) },
            rooms.map { Shard.index(ofRoom: $0, count: 2, key: other) },
            "another key places rooms otherwise"
        )
        XCTAssertNil(ShardKey(bytes: [1, 2, 3]))
        XCTAssertEqual(key.fingerprint.count, 8)
        XCTAssertNotEqual(key.fingerprint, other.fingerprint)
        let shard = try Shard(parsing: "1/2", key: key)
        XCTAssertEqual(shard.description, "1/2 key \(key.fingerprint)")
        XCTAssertEqual(
            rooms.filter(shard.owns(room:)),
            rooms.filter { Shard.index(ofRoom: $0, count: 2, key: key) == 1 }
        )
    }

    func testEveryShardGetsRoomsAndEachRoomExactlyOne() throws {
        let shards = try (0..<4).map { try Shard(index: $0, count: 4) }
        var perShard = [0, 0, 0, 0]
        for number in 0..<4_000 {
            let room = "room-\(number)"
            let owners = shards.filter { $0.owns(room: room) }
            XCTAssertEqual(owners.count, 1, room)
            perShard[owners[0].index] += 1
        }
        for count in perShard { XCTAssertTrue((800...1_200).contains(count), "uneven spread: \(perShard)") }
    }

    func testParsing() throws {
        XCTAssertEqual(try Shard(parsing: "0/1"), .whole)
        let parsed = try Shard(parsing: "3/4")
        XCTAssertEqual(parsed.index, 3)
        XCTAssertEqual(parsed.count, 4)
        XCTAssertEqual(parsed.description, "3/4")
        XCTAssertEqual(try Shard(parsing: "255/256").count, 256)
        for text in [
            "", "1", "1/", "/2", "a/2", "1/2/3", "-1/2", "+1/2", " 1/2", "1/2 ", "1.0/2", "99999999999999999/2",
        ] {
            XCTAssertThrowsError(try Shard(parsing: text), text) { error in
                XCTAssertEqual(error as? Shard.Invalid, .malformed(text), text)
            }
        }
        for (text, index, count) in [("2/2", 2, 2), ("0/0", 0, 0), ("5/3", 5, 3), ("0/257", 0, 257)] {
            XCTAssertThrowsError(try Shard(parsing: text), text) { error in
                XCTAssertEqual(error as? Shard.Invalid, .outOfRange(index: index, count: count), text)
            }
        }
        XCTAssertTrue("\(Shard.Invalid.malformed("x"))".contains("I/N"))
    }

    func testTheRoomACommandIsAbout() {
        XCTAssertEqual(WireCommand.Body.join(room: "lobby", password: "p", name: "n").room, "lobby")
        XCTAssertEqual(WireCommand.Body.leave(room: "lobby").room, "lobby")
        XCTAssertEqual(WireCommand.Body.message(room: "lobby", text: "t", key: "").room, "lobby")
        XCTAssertEqual(WireCommand.Body.post(room: "lobby", password: "p", name: "n", text: "t", key: "").room, "lobby")
        XCTAssertEqual(WireCommand.Body.replay(room: "lobby", from: 1, to: 2).room, "lobby")
        XCTAssertEqual(WireCommand.Body.create(name: "n", room: "lobby", key: "").room, "lobby")
        // A create without a name lets the broker pick one: no room yet.
        XCTAssertNil(WireCommand.Body.create(name: "n", room: "", key: "k").room)
        XCTAssertNil(WireCommand.Body.create(name: "n", room: "  ", key: "").room)
        for body: WireCommand.Body in [
            .hello(gatewayName: "g"), .heartbeat, .listRooms(after: "lobby", limit: 5), .disconnect,
            .resume(pid: "p", instance: "i", since: nil),
        ] {
            XCTAssertNil(body.room, "\(body)")
        }
    }

    func testWrongShardHasItsOwnCode() {
        XCTAssertEqual(ChatErrorCode.wrongShard.rawValue, 16)
        XCTAssertEqual(ChatErrorCode.wrongShard.code, "wrong_shard")
        XCTAssertEqual(ChatErrorCode.wrongShard.httpStatus, 500)
    }
}
