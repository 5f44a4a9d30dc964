import ChatWire
import XCTest

@testable import RoomBrokerCore

/// Names are compared by their key (NFKC and case folding), computed once per member.
extension RoomRegistryTests {
    func testTakenNamesAmongTenThousandNonASCIIMembersAreFoundByTheirKey() throws {
        var registry = RoomRegistry()
        let password = try makeRoom(&registry)
        let count = 10_000
        func name(_ index: Int) -> String { "Zoë-Ωμέγα-日本-\(index)" }
        for index in 0..<count {
            let connection = ConnectionKey(gateway: "gw-g", connectionID: UInt64(10_000 + index))
            _ = try registry.join(room: "lobby", password: password, name: name(index), by: connection, now: 1)
            // One in ten becomes a ghost (kept for the session grace): 1,000, the most a room keeps.
            if index % 10 == 1 { _ = registry.disconnect(connection, now: 2) }
        }
        XCTAssertEqual(registry.rooms["lobby"]?.members.count, count)
        let started = ContinuousClock.now
        for attempt in 0..<100 {
            let index = attempt * 97 % count
            // Another case and the full-width forms NFKC folds: the same key.
            let spelled = name(index).uppercased().replacingOccurrences(of: "-", with: "\u{FF0D}")
            let newcomer = ConnectionKey(gateway: "gw-n", connectionID: UInt64(100_000 + attempt))
            if index % 10 == 1 {
                let result = try registry.join(room: "lobby", password: password, name: spelled, by: newcomer, now: 3)
                guard case .resumed(_, _, let kept, _, _) = result.event else { return XCTFail("\(result.event)") }
                XCTAssertEqual(kept, name(index), "the ghost's own spelling is kept")
            } else {
                XCTAssertThrowsError(
                    try registry.join(room: "lobby", password: password, name: spelled, by: newcomer, now: 3)
                ) { error in
                    XCTAssertEqual((error as? ChatError)?.code, .nameInUse)
                }
            }
        }
        // Not asserted (timings belong in benchmarks): printed to compare runs.
        print("100 taken-name joins among \(count) members: \(ContinuousClock.now - started)")
        XCTAssertEqual(registry.rooms["lobby"]?.members.count, count, "taking over a ghost adds nobody")
    }
}

/// Look-alikes of Latin letters from other scripts name the same member (NameSkeleton).
extension RoomRegistryTests {
    func testACyrillicLookAlikeOfAMembersNameIsTaken() throws {
        var registry = RoomRegistry()
        let password = try makeRoom(&registry)
        _ = try registry.join(room: "lobby", password: password, name: "alice", by: alice, now: 1)
        let impostor = ConnectionKey(gateway: "gw-b", connectionID: 2)
        for lookAlike in ["\u{430}lice", "ALIC\u{415}", "\u{3B1}lice"] {
            XCTAssertThrowsError(
                try registry.join(room: "lobby", password: password, name: lookAlike, by: impostor, now: 2),
                lookAlike
            ) { error in
                XCTAssertEqual((error as? ChatError)?.code, .nameInUse, lookAlike)
            }
        }
        XCTAssertEqual(registry.rooms["lobby"]?.memberNames(), ["alice"])
        // In another room the name is free.
        let other = try makeRoom(&registry, named: "hall")
        _ = try registry.join(room: "hall", password: other, name: "\u{430}lice", by: impostor, now: 3)
    }
}
