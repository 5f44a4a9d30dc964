import ChatWire
import RoomBrokerCore
import SocketIO
import XCTest

/// Byte budgets of history and replay, the global budget, and replies that always fit in a frame.
final class BrokerBudgetTests: XCTestCase {
    /// The largest text the validator allows, as large as it gets once encoded: 2000 four-byte scalars.
    static let largestText = String(repeating: "😀", count: FieldValidator.maxTextScalars)

    /// A name of 64 bytes of UTF-8, unique per `index` (< 10 000).
    static func largestName(_ index: Int) -> String {
        String(repeating: "😀", count: 15) + String(String(index + 10_000).suffix(4))
    }

    func testEachRoomKeepsItsHistoryAndReplayWithinTheirByteBudgets() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.historyByteBudget = 64 << 10
        configuration.replayByteBudget = 96 << 10
        var harness = EngineHarness(configuration: configuration)
        let password = try harness.create("lobby")
        _ = harness.send(.join(room: "lobby", password: password, name: "alice"))
        for _ in 0..<40 { _ = harness.send(.message(room: "lobby", text: Self.largestText, key: "")) }
        let room = try XCTUnwrap(harness.engine.registry.rooms["lobby"])
        XCTAssertLessThanOrEqual(room.history.bytes, 64 << 10)
        XCTAssertLessThanOrEqual(room.recentBroadcasts.bytes, 96 << 10)
        XCTAssertEqual(room.history.count, (64 << 10) / (8_000 + 5 + 64), "oldest first: as many as fit")
        XCTAssertEqual(Array(room.history).last?.seq, room.lastSeq, "the newest is kept")
        XCTAssertEqual(Array(room.recentBroadcasts).last?.seq, room.lastSeq)
        XCTAssertEqual(harness.engine.registry.storedBytes, room.history.bytes + room.recentBroadcasts.bytes)
    }

    func testTheGlobalBudgetBoundsEverythingKeptAndDropsTheOldestFirst() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.memoryBudget = 1 << 20
        configuration.createsPerConnection = 1_000
        configuration.emptyRoomGraceMilliseconds = 0
        configuration.sessionGraceMilliseconds = 0
        var harness = EngineHarness(configuration: configuration)
        for index in 0..<8 {
            let room = "room\(index)"
            let password = try harness.create(room)
            _ = harness.send(.join(room: room, password: password, name: "m"), connection: UInt64(index + 1))
            for _ in 0..<20 {
                _ = harness.send(.message(room: room, text: Self.largestText, key: ""), connection: UInt64(index + 1))
            }
            XCTAssertLessThanOrEqual(harness.engine.registry.storedBytes, 1 << 20)
        }
        let rooms = harness.engine.registry.rooms
        let first = try XCTUnwrap(rooms["room0"])
        let last = try XCTUnwrap(rooms["room7"])
        XCTAssertEqual(first.history.count, 0, "the oldest room's messages went first")
        XCTAssertEqual(last.history.count, 20, "the newest room keeps everything")
        let counted = rooms.values.reduce(0) { $0 + $1.history.bytes + $1.recentBroadcasts.bytes }
        XCTAssertEqual(harness.engine.registry.storedBytes, counted, "the ledger matches the rooms")
        // Expired rooms give their bytes back.
        for index in 0..<8 { _ = harness.send(.disconnect, connection: UInt64(index + 1), now: 2_000) }
        _ = harness.engine.tick(now: 2_000)
        XCTAssertEqual(harness.engine.registry.rooms.count, 0)
        XCTAssertEqual(harness.engine.registry.storedBytes, 0)
    }

    func testNoReplyTheEngineCanProduceExceedsTheFrameLimit() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.historySize = 400
        configuration.historyByteBudget = 64 << 20
        configuration.replayByteBudget = 64 << 20
        configuration.createsPerConnection = 10_000
        configuration.createsPerClient = 10_000
        configuration.roomsPerClient = 10_000
        configuration.createsPerSecond = 10_000
        var harness = EngineHarness(configuration: configuration)
        let password = try harness.create("huge")
        let members = 1_500
        for index in 0..<members {
            let output = harness.send(
                .join(room: "huge", password: password, name: Self.largestName(index)),
                connection: UInt64(index + 1)
            )
            XCTAssertNil(EngineHarness.failure(output))
        }
        for index in 0..<300 {
            let output = harness.send(
                .message(room: "huge", text: Self.largestText, key: ""),
                connection: UInt64(index % members + 1)
            )
            for broadcast in output.broadcasts {
                XCTAssertLessThanOrEqual(broadcast.payload.count, WireFormat.maxPayloadSize)
            }
        }
        let join = harness.send(.join(room: "huge", password: password, name: "late"), connection: 100_000)
        let joinFrame = try XCTUnwrap(join.reply).encoded()
        XCTAssertLessThanOrEqual(joinFrame.count, WireFormat.maxFrameSize)
        let ack = try EngineHarness.json(join)
        let history = try XCTUnwrap(ack["history"]?.arrayValue)
        XCTAssertGreaterThan(history.count, 50)
        XCTAssertLessThan(history.count, 300, "trimmed to fit")
        XCTAssertEqual(history.last?["seq"], .number(Double(members + 300)), "the newest messages are kept")
        XCTAssertEqual(ack["count"], .number(Double(members + 1)))
        XCTAssertEqual(try WireReply.decode(joinFrame).kind, .join, "the gateway can decode it")

        let lastSeq = try XCTUnwrap(harness.engine.registry.rooms["huge"]?.lastSeq)
        let first = lastSeq - 255
        let replay = try XCTUnwrap(harness.send(.replay(room: "huge", from: first, to: lastSeq)).reply)
        XCTAssertLessThanOrEqual(replay.encoded().count, WireFormat.maxFrameSize)
        guard case .success(let part) = replay.result else { return XCTFail("\(replay)") }
        XCTAssertEqual(part.events.first?.seq, first, "a prefix of the range")
        XCTAssertLessThan(part.events.count, 256, "split")
        let next = try XCTUnwrap(part.events.last?.seq) + 1
        guard case .success(let rest) = harness.send(.replay(room: "huge", from: next, to: lastSeq)).reply?.result
        else { return XCTFail() }
        XCTAssertEqual(rest.events.first?.seq, next, "the gateway asks again for the rest")

        for index in 0..<1_000 { _ = try harness.create("room-\(index)", connection: UInt64(200_000 + index)) }
        let list = try XCTUnwrap(harness.send(.listRooms(after: "", limit: 200)).reply)
        XCTAssertLessThanOrEqual(list.encoded().count, WireFormat.maxFrameSize)
    }

    func testRoomListIsPagedByName() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.createsPerConnection = 1_000
        var harness = EngineHarness(configuration: configuration)
        let names = (0..<250).map { String(format: "room-%03d", $0) }
        for name in names.shuffled() { _ = try harness.create(name) }
        var seen: [String] = []
        var after = ""
        var pages = 0
        while true {
            let json = try EngineHarness.json(harness.send(.listRooms(after: after, limit: 0)))
            let rooms = try XCTUnwrap(json["rooms"]?.arrayValue)
            XCTAssertLessThanOrEqual(rooms.count, 100)
            seen += rooms.compactMap { $0["room"]?.stringValue }
            pages += 1
            guard let next = json["next"]?.stringValue else {
                XCTAssertEqual(json["next"], .null)
                break
            }
            XCTAssertEqual(next, seen.last)
            after = next
        }
        XCTAssertEqual(pages, 3)
        XCTAssertEqual(seen, names)
        let small = try EngineHarness.json(harness.send(.listRooms(after: "room-247", limit: 2)))
        XCTAssertEqual(small["rooms"]?.arrayValue?.compactMap { $0["room"]?.stringValue }, ["room-248", "room-249"])
        XCTAssertEqual(small["next"], .null)
        XCTAssertEqual(EngineHarness.failure(harness.send(.listRooms(after: "", limit: 201))), .badRequest)
    }

    func testReplayRefusesWhatIsNoLongerKept() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.replaySize = 4
        var harness = EngineHarness(configuration: configuration)
        let password = try harness.create("lobby")
        _ = harness.send(.join(room: "lobby", password: password, name: "a"))
        for index in 0..<9 { _ = harness.send(.message(room: "lobby", text: "m\(index)", key: "")) }
        XCTAssertEqual(EngineHarness.failure(harness.send(.replay(room: "lobby", from: 6, to: 10))), .replayUnavailable)
        guard case .success(let kept) = harness.send(.replay(room: "lobby", from: 7, to: 10)).reply?.result else {
            return XCTFail()
        }
        XCTAssertEqual(kept.events.map(\.seq), [7, 8, 9, 10])
        XCTAssertEqual(EngineHarness.failure(harness.send(.replay(room: "lobby", from: 0, to: 3))), .badRequest)
    }
}
