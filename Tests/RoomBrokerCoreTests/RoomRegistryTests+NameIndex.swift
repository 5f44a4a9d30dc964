import ChatWire
import XCTest

@testable import RoomBrokerCore

/// A room finds a member by name key in O(1) (``NameIndex``): the index follows every change of the
/// members and is rebuilt when a room is decoded from a snapshot, which does not hold it.
extension RoomRegistryTests {
    /// Checks that every room's index finds each member where it is, and nobody else.
    func checkNameIndex(_ registry: RoomRegistry, gone: Set<String>, file: StaticString = #filePath, line: UInt = #line)
    {
        for var room in registry.rooms.values {
            let members = room.members
            for (index, member) in members.enumerated() {
                XCTAssertTrue(room.isNameTaken(key: member.nameKey), member.name, file: file, line: line)
                let connected = member.disconnectedSince == nil
                XCTAssertEqual(
                    room.connectedMember(key: member.nameKey),
                    connected ? index : nil,
                    file: file,
                    line: line
                )
                XCTAssertEqual(
                    room.disconnectedMember(key: member.nameKey),
                    connected ? nil : index,
                    file: file,
                    line: line
                )
            }
            for name in gone where !members.contains(where: { $0.nameKey == FieldValidator.nameKey(name) }) {
                let key = FieldValidator.nameKey(name)
                XCTAssertFalse(room.isNameTaken(key: key), name, file: file, line: line)
                XCTAssertNil(room.connectedMember(key: key), file: file, line: line)
                XCTAssertNil(room.disconnectedMember(key: key), file: file, line: line)
            }
        }
    }

    func testTheNameIndexFollowsJoinsLeavesDisconnectsResumesEvictionsAndSnapshots() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.maxMembersPerRoom = 24
        configuration.sessionGraceMilliseconds = 5_000
        var registry = RoomRegistry(configuration: configuration)
        let password = try makeRoom(&registry)
        var random = SeededGenerator(state: 0x9E37_79B9_7F4A_7C15)
        func draw(_ bound: Int) -> Int { Int.random(in: 0..<bound, using: &random) }
        let names = (0..<40).map { "Ünïcödé-名前-\($0)" }
        var connections: [ConnectionKey] = []
        var nextConnection: UInt64 = 1
        var now: UInt64 = 1
        for step in 0..<1_500 {
            now += 10
            let clock = BrokerClock(monotonic: now, wall: now)
            let members = registry.rooms["lobby"]?.members ?? []
            switch draw(6) {
            case 0, 1:
                // A join under any name: new, taken by a connected member, or a disconnected one's (a resume).
                let connection = ConnectionKey(gateway: "gw-\(draw(3))", connectionID: nextConnection)
                nextConnection += 1
                let name = names[draw(names.count)].uppercased()
                if (try? registry.join(room: "lobby", password: password, name: name, by: connection, now: clock))
                    != nil
                {
                    connections.append(connection)
                }
            case 2:
                if let member = members.filter({ $0.disconnectedSince == nil }).randomElement(using: &random) {
                    _ = try registry.leave(room: "lobby", by: member.connection, now: clock)
                }
            case 3:
                if let member = members.filter({ $0.disconnectedSince == nil }).randomElement(using: &random) {
                    _ = registry.disconnect(member.connection, now: clock)
                }
            case 4:
                _ = registry.expireSessions(now: clock)
            default:
                if step % 5 == 0 { registry = try SnapshotCodingTests.recoded(registry, as: RoomRegistry.self) }
            }
            checkNameIndex(registry, gone: Set(names))
        }
        XCTAssertGreaterThan(nextConnection, 300, "joins were tried")
    }

    func testTakenNamesAmongTenThousandNonASCIIMembersAreFoundAfterMembersBeforeThemLeft() throws {
        var registry = RoomRegistry()
        let password = try makeRoom(&registry)
        let count = 10_000
        func name(_ index: Int) -> String { "Zoë-Ωμέγα-日本-\(index)" }
        func connection(_ index: Int) -> ConnectionKey {
            ConnectionKey(gateway: "gw-g", connectionID: UInt64(10_000 + index))
        }
        func isGhost(_ index: Int) -> Bool { index % 10 == 1 }
        func hasLeft(_ index: Int) -> Bool { !isGhost(index) && index % 7 == 3 }
        for index in 0..<count {
            _ = try registry.join(room: "lobby", password: password, name: name(index), by: connection(index), now: 1)
        }
        // Ghosts (kept for the session grace: 1,000, the most a room keeps) and leaves all over the list,
        // so that most members moved since the index recorded them.
        for index in 0..<count where isGhost(index) { _ = registry.disconnect(connection(index), now: 2) }
        for index in 0..<count where hasLeft(index) {
            _ = try registry.leave(room: "lobby", by: connection(index), now: 2)
        }
        let left = (0..<count).filter(hasLeft).count
        XCTAssertEqual(registry.rooms["lobby"]?.members.count, count - left)
        for attempt in 0..<100 {
            let index = attempt * 97 % count
            // Another case and the full-width forms NFKC folds: the same key.
            let spelled = name(index).uppercased().replacingOccurrences(of: "-", with: "\u{FF0D}")
            let newcomer = ConnectionKey(gateway: "gw-n", connectionID: UInt64(100_000 + attempt))
            let joined = Result {
                try registry.join(room: "lobby", password: password, name: spelled, by: newcomer, now: 3)
            }
            switch (isGhost(index), hasLeft(index), joined) {
            case (true, _, .success(let result)):
                guard case .resumed(_, _, let kept, _, _) = result.event else { return XCTFail("\(result.event)") }
                XCTAssertEqual(kept, name(index), "the ghost's own spelling is kept")
            case (false, true, .success(let result)):
                guard case .joined(_, _, let new, _, _) = result.event else { return XCTFail("\(result.event)") }
                XCTAssertEqual(new, spelled, "a name freed by a leave is anyone's")
            case (false, false, .failure(let error)):
                XCTAssertEqual((error as? ChatError)?.code, .nameInUse)
            default:
                XCTFail("\(index): \(joined)")
            }
        }
        checkNameIndex(registry, gone: Set((0..<count).filter(hasLeft).prefix(50).map(name)))
    }
}

/// A seeded generator, so that a failing sequence of changes is the same at every run.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state ^ (state >> 29)
    }
}
