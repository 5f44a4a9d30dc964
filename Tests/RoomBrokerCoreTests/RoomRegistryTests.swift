import ChatWire
import RoomBrokerCore
import SocketIO
import XCTest

final class RoomRegistryTests: XCTestCase {
    let alice = ConnectionKey(gateway: "gw-a", connectionID: 1)
    let bob = ConnectionKey(gateway: "gw-b", connectionID: 2)
    let carol = ConnectionKey(gateway: "gw-b", connectionID: 3)

    func makeRoom(_ registry: inout RoomRegistry, named room: String = "lobby") throws -> String {
        try registry.create(requestedRoom: room, creatorName: "alice", by: alice, now: 0).password
    }

    func testCreateGivesARoomAndAPasswordButNoMembership() throws {
        var registry = RoomRegistry()
        let created = try registry.create(requestedRoom: "", creatorName: "alice", by: alice, now: 10)
        XCTAssertTrue(created.room.range(of: #"^[a-z]+-[a-z]+-\d+$"#, options: .regularExpression) != nil, created.room)
        XCTAssertEqual(created.password.count, 12)
        XCTAssertEqual(registry.rooms[created.room]?.members, [])
        XCTAssertEqual(
            try registry.page(after: "", limit: 0),
            RoomListPage(rooms: [.init(room: created.room, members: 0, created: 10)], next: nil)
        )
        XCTAssertThrowsError(try registry.create(requestedRoom: created.room, creatorName: "x", by: bob, now: 11)) {
            XCTAssertEqual(($0 as? ChatError)?.code, .roomExists)
        }
        XCTAssertThrowsError(try registry.create(requestedRoom: "bad room", creatorName: "x", by: bob, now: 11)) {
            XCTAssertEqual(($0 as? ChatError)?.code, .badRequest)
        }
    }

    func testJoinWithPasswordAnnouncesAndReturnsMembersAndHistory() throws {
        var registry = RoomRegistry()
        let password = try makeRoom(&registry)
        let first = try registry.join(room: "lobby", password: password, name: " alice ", by: alice, now: 1)
        XCTAssertEqual(first.members, ["alice"])
        XCTAssertEqual(first.seq, 1)
        _ = try registry.message(room: "lobby", text: "hi", by: alice, now: 2)
        let second = try registry.join(room: "lobby", password: password, name: "bob", by: bob, now: 3)
        XCTAssertEqual(second.members, ["alice", "bob"])
        XCTAssertEqual(second.history.map(\.text), ["hi"])
        XCTAssertEqual(second.memberCount, 2)
        XCTAssertEqual(second.event, .joined(room: "lobby", seq: 3, name: "bob", count: 2, connection: bob))
    }

    func testWrongPasswordUnknownRoomAndNameInUseAreRefused() throws {
        var registry = RoomRegistry()
        let password = try makeRoom(&registry)
        XCTAssertThrowsError(try registry.join(room: "lobby", password: password + "x", name: "bob", by: bob, now: 1)) {
            XCTAssertEqual(($0 as? ChatError)?.code, .wrongPassword)
        }
        XCTAssertThrowsError(try registry.join(room: "nowhere", password: password, name: "bob", by: bob, now: 1)) {
            XCTAssertEqual(($0 as? ChatError)?.code, .noSuchRoom)
        }
        _ = try registry.join(room: "lobby", password: password, name: "Bob", by: bob, now: 1)
        XCTAssertThrowsError(try registry.join(room: "lobby", password: password, name: "bob", by: carol, now: 1)) {
            XCTAssertEqual(($0 as? ChatError)?.code, .nameInUse)
        }
        XCTAssertEqual(registry.rooms["lobby"]?.memberNames(), ["Bob"], "refusals change nothing")
    }

    func testSequenceNumbersCountEveryEventInOrder() throws {
        var registry = RoomRegistry()
        let password = try makeRoom(&registry)
        var seqs: [UInt64] = []
        seqs.append(try registry.join(room: "lobby", password: password, name: "a", by: alice, now: 1).seq)
        seqs.append(try registry.join(room: "lobby", password: password, name: "b", by: bob, now: 1).seq)
        seqs.append(try registry.message(room: "lobby", text: "1", by: alice, now: 2).seq)
        seqs.append(try registry.post(room: "lobby", password: password, name: "api", text: "2", by: carol, now: 3).seq)
        seqs.append(try registry.leave(room: "lobby", by: bob, now: 4).seq)
        XCTAssertEqual(seqs, [1, 2, 3, 4, 5])
    }

    func testOnlyMembersMaySendAndLeave() throws {
        var registry = RoomRegistry()
        _ = try makeRoom(&registry)
        XCTAssertThrowsError(try registry.message(room: "lobby", text: "hi", by: bob, now: 1)) {
            XCTAssertEqual(($0 as? ChatError)?.code, .notMember)
        }
        XCTAssertThrowsError(try registry.leave(room: "lobby", by: bob, now: 1)) {
            XCTAssertEqual(($0 as? ChatError)?.code, .notMember)
        }
        XCTAssertThrowsError(try registry.message(room: "lobby", text: "   ", by: bob, now: 1)) {
            XCTAssertEqual(($0 as? ChatError)?.code, .badRequest)
        }
    }

    func testHistoryIsBounded() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.historySize = 3
        var registry = RoomRegistry(configuration: configuration)
        let password = try makeRoom(&registry)
        _ = try registry.join(room: "lobby", password: password, name: "a", by: alice, now: 1)
        for index in 1...5 { _ = try registry.message(room: "lobby", text: "m\(index)", by: alice, now: 2) }
        let joined = try registry.join(room: "lobby", password: password, name: "b", by: bob, now: 3)
        XCTAssertEqual(joined.history.map(\.text), ["m3", "m4", "m5"])
    }

    /// With no session grace a dropped connection leaves at once.
    var noGrace: RoomRegistry {
        var configuration = RoomRegistryConfiguration()
        configuration.sessionGraceMilliseconds = 0
        return RoomRegistry(configuration: configuration)
    }

    func testDisconnectWithoutGraceLeavesEveryRoom() throws {
        var registry = noGrace
        let lobby = try makeRoom(&registry, named: "lobby")
        let games = try makeRoom(&registry, named: "games")
        _ = try registry.join(room: "lobby", password: lobby, name: "a", by: alice, now: 1)
        _ = try registry.join(room: "games", password: games, name: "a", by: alice, now: 1)
        _ = try registry.join(room: "games", password: games, name: "b", by: bob, now: 1)
        let events = registry.disconnect(alice, now: 2).events
        XCTAssertEqual(events.map(\.room), ["games", "lobby"])
        XCTAssertEqual(registry.rooms["games"]?.memberNames(), ["b"])
        XCTAssertEqual(registry.rooms["lobby"]?.memberNames(), [])
        XCTAssertEqual(registry.disconnect(alice, now: 3), .init(), "a second disconnect has nothing to do")
    }

    func testDisconnectWithGraceKeepsTheMembershipsAndSaysWhich() throws {
        var registry = RoomRegistry()
        let lobby = try makeRoom(&registry, named: "lobby")
        let games = try makeRoom(&registry, named: "games")
        _ = try registry.join(room: "lobby", password: lobby, name: "a", by: alice, now: 1)
        _ = try registry.join(room: "games", password: games, name: "a2", by: alice, now: 1)
        let dropped = registry.disconnect(alice, now: 2)
        XCTAssertEqual(dropped.events, [], "nobody leaves before the grace ends")
        XCTAssertEqual(dropped.away, [AwayMember(room: "games", name: "a2"), AwayMember(room: "lobby", name: "a")])
        XCTAssertEqual(registry.sessionsInGrace, 2)
    }

    func testARefusalByALimitNamesTheLimit() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.failuresPerConnection = 1
        var registry = RoomRegistry(configuration: configuration)
        _ = try makeRoom(&registry, named: "lobby")
        for expected: (ChatErrorCode, RateLimit?) in [
            (.wrongPassword, nil), (.tooManyAttempts, .wrongPasswordsPerConnection),
        ] {
            XCTAssertThrowsError(try registry.join(room: "lobby", password: "wrong-guess", name: "m", by: bob, now: 1))
            { error in
                XCTAssertEqual((error as? ChatError)?.code, expected.0)
                XCTAssertEqual((error as? ChatError)?.limit, expected.1)
            }
        }
    }

    func testGatewayLossWithoutGraceRemovesOnlyThatGatewaysMembers() throws {
        var registry = noGrace
        let password = try makeRoom(&registry)
        _ = try registry.join(room: "lobby", password: password, name: "a", by: alice, now: 1)
        _ = try registry.join(room: "lobby", password: password, name: "b", by: bob, now: 1)
        _ = try registry.join(room: "lobby", password: password, name: "c", by: carol, now: 1)
        let events = registry.dropGateway("gw-b", now: 2).events
        XCTAssertEqual(events.count, 2)
        XCTAssertEqual(registry.rooms["lobby"]?.memberNames(), ["a"])
        guard case .left(_, _, let name, let count, _) = events.last else { return XCTFail() }
        XCTAssertEqual(name, "c")
        XCTAssertEqual(count, 1)
    }

    func testEmptyRoomsExpireAfterTheGracePeriod() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.emptyRoomGraceMilliseconds = 1000
        var registry = RoomRegistry(configuration: configuration)
        let password = try makeRoom(&registry)
        _ = try registry.join(room: "lobby", password: password, name: "a", by: alice, now: 500)
        XCTAssertEqual(registry.expireEmptyRooms(now: 5000), [], "a room with members never expires")
        _ = try registry.leave(room: "lobby", by: alice, now: 6000)
        XCTAssertEqual(registry.expireEmptyRooms(now: 6999), [])
        XCTAssertEqual(registry.expireEmptyRooms(now: 7000), ["lobby"])
        XCTAssertNil(registry.rooms["lobby"])
    }

    func testNeverJoinedRoomExpiresToo() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.emptyRoomGraceMilliseconds = 100
        var registry = RoomRegistry(configuration: configuration)
        _ = try makeRoom(&registry)
        XCTAssertEqual(registry.expireEmptyRooms(now: 100), ["lobby"])
    }

    func testWrongPasswordsAreLimitedPerConnection() throws {
        var registry = RoomRegistry()
        let password = try makeRoom(&registry)
        for _ in 0..<5 {
            XCTAssertThrowsError(try registry.join(room: "lobby", password: "guess", name: "m", by: bob, now: 1_000))
        }
        XCTAssertThrowsError(try registry.join(room: "lobby", password: password, name: "m", by: bob, now: 2_000)) {
            XCTAssertEqual(($0 as? ChatError)?.code, .tooManyAttempts, "even the right password waits out the window")
        }
        XCTAssertNoThrow(
            try registry.join(room: "lobby", password: password, name: "c", by: carol, now: 2_000),
            "others are not affected"
        )
        XCTAssertNoThrow(
            try registry.join(room: "lobby", password: password, name: "m", by: bob, now: 61_000),
            "the window ends"
        )
    }

    func testManyWrongPasswordsFromManyAddressesNeverLockTheRightPasswordOut() throws {
        var registry = RoomRegistry()
        let password = try makeRoom(&registry)
        // 175 wrong passwords from 7 addresses within one second (the per-address limits bite).
        for index in 0..<175 {
            let attacker = ConnectionKey(gateway: "gw-x", connectionID: UInt64(1_000 + index))
            XCTAssertThrowsError(
                try registry.join(
                    room: "lobby",
                    password: "guess",
                    name: "m",
                    by: attacker,
                    client: "127.0.0.\(2 + index % 7)",
                    now: 1_000
                )
            )
        }
        let member = ConnectionKey(gateway: "gw-y", connectionID: 5)
        XCTAssertNoThrow(
            try registry.join(
                room: "lobby",
                password: password,
                name: "ann",
                by: member,
                client: "127.0.0.1",
                now: 1_500
            )
        )
        XCTAssertNoThrow(
            try registry.post(
                room: "lobby",
                password: password,
                name: "bot",
                text: "hi",
                by: carol,
                client: "127.0.0.1",
                now: 1_500
            )
        )
    }

    func testWrongPasswordsAreLimitedPerClientAddressAcrossConnections() throws {
        var registry = RoomRegistry()
        let password = try makeRoom(&registry)
        for id in 100..<120 {
            let connection = ConnectionKey(gateway: "gw-http", connectionID: UInt64(id))
            XCTAssertThrowsError(
                try registry.join(
                    room: "lobby",
                    password: "guess",
                    name: "m",
                    by: connection,
                    client: "203.0.113.9",
                    now: 1
                )
            ) {
                XCTAssertEqual(($0 as? ChatError)?.code, .wrongPassword)
            }
        }
        let fresh = ConnectionKey(gateway: "gw-http", connectionID: 500)
        XCTAssertThrowsError(
            try registry.join(room: "lobby", password: password, name: "m", by: fresh, client: "203.0.113.9", now: 2)
        ) {
            XCTAssertEqual(
                ($0 as? ChatError)?.code,
                .tooManyAttempts,
                "a new connection from the same address is still limited"
            )
        }
        XCTAssertNoThrow(
            try registry.join(
                room: "lobby",
                password: password,
                name: "ann",
                by: alice,
                client: "198.51.100.7",
                now: 2
            ),
            "one attacker's address does not lock the room's members out"
        )
    }

    func testReplayReturnsKeptBroadcastsOrSaysTheyAreGone() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.replaySize = 2
        var registry = RoomRegistry(configuration: configuration)
        let password = try makeRoom(&registry)
        for seq in 1...3 {
            _ = try registry.join(
                room: "lobby",
                password: password,
                name: "m\(seq)",
                by: ConnectionKey(gateway: "g", connectionID: UInt64(seq)),
                now: 1
            )
            registry.recordBroadcast(room: "lobby", seq: UInt64(seq), payload: [UInt8(seq)])
        }
        XCTAssertEqual(try registry.replay(room: "lobby", from: 2, to: 3).map(\.payload), [[2], [3]])
        XCTAssertThrowsError(try registry.replay(room: "lobby", from: 1, to: 3)) {
            XCTAssertEqual(($0 as? ChatError)?.code, .replayUnavailable)
        }
        XCTAssertThrowsError(try registry.replay(room: "lobby", from: 3, to: 4)) {
            XCTAssertEqual(($0 as? ChatError)?.code, .badRequest)
        }
    }

    func testRoomLimit() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.maxRooms = 1
        var registry = RoomRegistry(configuration: configuration)
        _ = try makeRoom(&registry)
        XCTAssertThrowsError(try registry.create(requestedRoom: "", creatorName: "b", by: bob, now: 1)) {
            XCTAssertEqual(($0 as? ChatError)?.code, .tooManyRooms)
        }
    }

    func testCreateFloodIsLimitedPerClientAddressAcrossConnections() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.roomsPerClient = 100
        var registry = RoomRegistry(configuration: configuration)
        for id in 0..<30 {
            let connection = ConnectionKey(gateway: "gw", connectionID: UInt64(id))
            _ = try registry.create(requestedRoom: "", creatorName: "b", by: connection, client: "203.0.113.5", now: 1)
        }
        let fresh = ConnectionKey(gateway: "gw", connectionID: 99)
        XCTAssertThrowsError(
            try registry.create(requestedRoom: "", creatorName: "b", by: fresh, client: "203.0.113.5", now: 2)
        ) {
            XCTAssertEqual(($0 as? ChatError)?.code, .rateLimited)
        }
        XCTAssertNoThrow(
            try registry.create(requestedRoom: "", creatorName: "c", by: fresh, client: "198.51.100.1", now: 2)
        )
    }

    func testCreateFloodIsLimitedPerConnection() throws {
        var registry = RoomRegistry()
        for _ in 0..<10 { _ = try registry.create(requestedRoom: "", creatorName: "b", by: bob, now: 1) }
        XCTAssertThrowsError(try registry.create(requestedRoom: "", creatorName: "b", by: bob, now: 2)) {
            XCTAssertEqual(($0 as? ChatError)?.code, .rateLimited)
        }
    }
}
