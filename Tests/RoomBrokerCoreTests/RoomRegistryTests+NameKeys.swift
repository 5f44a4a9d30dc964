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
