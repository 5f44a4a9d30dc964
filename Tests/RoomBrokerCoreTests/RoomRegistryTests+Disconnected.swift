import ChatWire
import XCTest

@testable import RoomBrokerCore

/// Disconnected members (kept for their session grace) are bounded per room and never keep a newcomer
/// out: connections that join and drop in a loop cannot fill a room.
extension RoomRegistryTests {
    private func connection(_ id: Int) -> ConnectionKey { ConnectionKey(gateway: "gw-c", connectionID: UInt64(id)) }

    func testADisconnectedMemberMakesRoomForANewcomerInAFullRoom() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.maxMembersPerRoom = 4
        var registry = RoomRegistry(configuration: configuration)
        let password = try makeRoom(&registry)
        for id in 1...4 {
            _ = try registry.join(room: "lobby", password: password, name: "m\(id)", by: connection(id), now: 1)
        }
        _ = registry.disconnect(connection(1), now: 2)
        _ = registry.disconnect(connection(2), now: 3)
        // Full (two connected, two kept): the one disconnected longest ago leaves for the newcomer.
        let first = try registry.join(room: "lobby", password: password, name: "new1", by: connection(5), now: 4)
        guard case .left(_, let leftSeq, let gone, let count, _)? = first.madeRoom else {
            return XCTFail("\(String(describing: first.madeRoom))")
        }
        XCTAssertEqual(gone, "m1")
        XCTAssertEqual(count, 3)
        XCTAssertEqual(leftSeq + 1, first.seq, "the left is numbered just before the join")
        XCTAssertEqual(first.memberCount, 4)
        let second = try registry.join(room: "lobby", password: password, name: "new2", by: connection(6), now: 5)
        guard case .left(_, _, let next, _, _)? = second.madeRoom else { return XCTFail() }
        XCTAssertEqual(next, "m2")
        // Only connected members now: the room is full for real.
        XCTAssertThrowsError(
            try registry.join(room: "lobby", password: password, name: "new3", by: connection(7), now: 6)
        ) {
            XCTAssertEqual(($0 as? ChatError)?.limit, .membersPerRoom)
        }
        XCTAssertEqual(registry.rooms["lobby"]?.members.map(\.name), ["m3", "m4", "new1", "new2"])
    }

    func testDisconnectedMembersStayWithinTheRoomsBoundOldestFirst() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.maxMembersPerRoom = 10  // at most 5 kept disconnected
        var registry = RoomRegistry(configuration: configuration)
        let password = try makeRoom(&registry)
        XCTAssertEqual(RoomRegistry.maxDisconnectedMembers(in: configuration), 5)
        var evicted: [String] = []
        // One address cycling: join with a fresh name, drop, again.
        for cycle in 1...30 {
            let key = connection(100 + cycle)
            _ = try registry.join(
                room: "lobby",
                password: password,
                name: "ghost-\(cycle)",
                by: key,
                now: BrokerClock(integerLiteral: UInt64(cycle))
            )
            let dropped = registry.disconnect(key, now: BrokerClock(integerLiteral: UInt64(cycle)))
            for event in dropped.evicted {
                guard case .left(_, _, let name, _, _) = event else { return XCTFail("\(event)") }
                evicted.append(name)
            }
            XCTAssertLessThanOrEqual(registry.rooms["lobby"]?.disconnectedCount ?? 0, 5)
        }
        XCTAssertEqual(evicted, (1...25).map { "ghost-\($0)" }, "the oldest go first, one per drop past the bound")
        XCTAssertEqual(registry.rooms["lobby"]?.members.map(\.name), (26...30).map { "ghost-\($0)" })
        // The newest are still resumable by name within their grace.
        let back = try registry.join(room: "lobby", password: password, name: "ghost-30", by: connection(999), now: 40)
        guard case .resumed = back.event else { return XCTFail("\(back.event)") }
    }

    func testOneAddressThatJoinsAndDropsInALoopPushesOutOnlyItsOwnMembers() throws {
        // 100 joins in 100 ms: past the per-address join budget, which is not what this is about.
        var configuration = RoomRegistryConfiguration()
        configuration.joinBurstPerClient = 1_000
        var registry = RoomRegistry(configuration: configuration)
        let password = try makeRoom(&registry)
        // Three people from another address drop and wait to come back.
        for id in 1...3 {
            _ = try registry.join(
                room: "lobby",
                password: password,
                name: "away-\(id)",
                by: connection(id),
                client: "198.51.100.7",
                now: 1
            )
            _ = registry.disconnect(connection(id), now: 1)
        }
        var evicted: [String] = []
        for cycle in 1...100 {
            let key = connection(1_000 + cycle)
            let now = BrokerClock(integerLiteral: UInt64(1 + cycle))
            _ = try registry.join(
                room: "lobby",
                password: password,
                name: "loop-\(cycle)",
                by: key,
                client: "203.0.113.9",
                now: now
            )
            for event in registry.disconnect(key, now: now).evicted {
                guard case .left(_, _, let name, _, _) = event else { return XCTFail("\(event)") }
                evicted.append(name)
            }
        }
        let bound = RoomRegistry.maxDisconnectedMembersPerClient
        XCTAssertEqual(evicted, (1...(100 - bound)).map { "loop-\($0)" }, "its own oldest, one per drop past its bound")
        XCTAssertEqual(registry.rooms["lobby"]?.disconnectedCount(of: "203.0.113.9"), bound)
        let names = Set(registry.rooms["lobby"]?.members.map(\.name) ?? [])
        XCTAssertTrue(["away-1", "away-2", "away-3"].allSatisfy(names.contains), "other people's members stay")
    }

    /// Many rooms each within their bound: the broker-wide bound makes the oldest leave, whatever room.
    func testDisconnectedMembersStayWithinTheGlobalBoundOldestFirst() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.maxDisconnectedMembers = 4
        var registry = RoomRegistry(configuration: configuration)
        var passwords: [String: String] = [:]
        for room in ["r1", "r2", "r3"] { passwords[room] = try makeRoom(&registry, named: room) }
        var evicted: [String] = []
        for id in 1...9 {
            let room = "r\(id % 3 + 1)"
            _ = try registry.join(
                room: room,
                password: passwords[room] ?? "",
                name: "m\(id)",
                by: connection(id),
                now: BrokerClock(integerLiteral: UInt64(id))
            )
            // A resumed member's grace entry is stale: it still counts until popped, never leaves.
            if id == 2 {
                _ = registry.disconnect(connection(id), now: BrokerClock(integerLiteral: UInt64(id)))
                _ = try registry.join(
                    room: room,
                    password: passwords[room] ?? "",
                    name: "m2",
                    by: connection(50),
                    now: 3
                )
                continue
            }
            let dropped = registry.disconnect(connection(id), now: BrokerClock(integerLiteral: UInt64(id)))
            evicted += dropped.evicted.map { event in
                guard case .left(_, _, let name, _, _) = event else { return "?" }
                return name
            }
            XCTAssertLessThanOrEqual(registry.sessionsInGrace, 4)
        }
        XCTAssertEqual(evicted, ["m1", "m3", "m4", "m5"], "the oldest first, over all rooms; m2 came back")
        XCTAssertEqual(registry.memberCount - registry.connectedMembers, 4)
        XCTAssertEqual(registry.rooms["r3"]?.members.map(\.name), ["m2", "m8"], "the resumed member stays")
    }

    func testTheBoundIsAThousandOrHalfTheRoomsCap() {
        var configuration = RoomRegistryConfiguration()
        XCTAssertEqual(RoomRegistry.maxDisconnectedMembers(in: configuration), 1_000)
        configuration.maxMembersPerRoom = 2
        XCTAssertEqual(RoomRegistry.maxDisconnectedMembers(in: configuration), 1)
    }
}
