import ChatWire
import RoomBrokerCore
import SocketIO
import XCTest

/// A member pages back through a room's kept history with `history {room, before}`, a reply budget at a
/// time; a non-member reads nothing.
final class HistoryPageTests: XCTestCase {
    func testAMemberPagesBackThroughTheKeptHistory() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.historySize = 400
        configuration.historyByteBudget = 8 << 20
        var harness = EngineHarness(configuration: configuration)
        let password = try harness.create("lobby")
        _ = harness.send(.join(room: "lobby", password: password, name: "ann"), connection: 1)
        // 300 messages of 8,000 bytes: about 2.4 MB, more than one reply holds.
        let text = String(repeating: "ä", count: 2_000)
        for _ in 0..<300 { _ = harness.send(.message(room: "lobby", text: text, key: ""), connection: 1) }
        let last = try XCTUnwrap(harness.engine.registry.rooms["lobby"]?.lastSeq)

        var before = last + 1
        var seen: [UInt64] = []
        var pages = 0
        while true {
            let page = try EngineHarness.json(harness.send(.history(room: "lobby", before: before), connection: 1))
            let seqs = try XCTUnwrap(page["history"]?.arrayValue).compactMap { $0["seq"]?.int64Value }.map(UInt64.init)
            XCTAssertEqual(seqs, seqs.sorted(), "oldest first")
            XCTAssertTrue(seqs.allSatisfy { $0 < before })
            seen = seqs + seen
            pages += 1
            guard page["more"]?.boolValue == true, let first = seqs.first else { break }
            before = first
        }
        XCTAssertGreaterThan(pages, 1, "one reply does not hold them all")
        XCTAssertEqual(seen, Array(2...last), "every kept message once, in order (seq 1 is ann's join)")
    }

    func testOnlyAMemberReadsTheHistory() throws {
        var harness = EngineHarness()
        let password = try harness.create("lobby")
        _ = harness.send(.join(room: "lobby", password: password, name: "ann"), connection: 1)
        _ = harness.send(.message(room: "lobby", text: "secret", key: ""), connection: 1)
        XCTAssertEqual(
            EngineHarness.failure(harness.send(.history(room: "lobby", before: 99), connection: 2)),
            .notMember
        )
        XCTAssertEqual(
            EngineHarness.failure(harness.send(.history(room: "nope", before: 99), connection: 1)),
            .noSuchRoom
        )
        let page = try EngineHarness.json(harness.send(.history(room: "lobby", before: 99), connection: 1))
        XCTAssertEqual(page["history"]?.arrayValue?.count, 1)
        XCTAssertEqual(page["more"]?.boolValue, false)
    }
}
