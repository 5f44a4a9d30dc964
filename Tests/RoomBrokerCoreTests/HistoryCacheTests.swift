import ChatWire
import SocketIO
import XCTest

@testable import RoomBrokerCore

/// The engine's cache of encoded history (``HistoryCache``): a join ack copies it, byte for byte what
/// encoding every message afresh gives, whatever happened to the history in between.
final class HistoryCacheTests: XCTestCase {
    /// Texts that encode differently from their UTF-8: escapes, non-ASCII, four-byte scalars.
    static let texts = [
        "hello", "Grüße aus Köln ☕️", "\"quoted\"\n\ttabbed\\ back\\slash\r", "日本語のテキスト", "😀🚀✨",
        "</script><b>&amp;</b>", "x",
    ]
    static let names = ["Zoë", "日本語の名前", "Ålesund", "alice", "😀 smile"]

    /// Rooms expire as soon as they are empty, and members leave as soon as they drop.
    static var expiringAtOnce: RoomRegistryConfiguration {
        var configuration = RoomRegistryConfiguration()
        configuration.emptyRoomGraceMilliseconds = 0
        configuration.sessionGraceMilliseconds = 0
        return configuration
    }

    /// Joins `room` through the engine as `name` on `connection` and checks its ack against the same join
    /// applied to a copy of the registry and encoded afresh (``BrokerEngine/encodedJoinJSON(_:room:)``).
    @discardableResult
    func checkJoin(
        _ harness: inout EngineHarness,
        _ room: String,
        password: String,
        name: String,
        since: UInt64? = nil,
        connection: UInt64,
        now: BrokerClock = 1_000,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> JSONValue {
        var fresh = harness.engine.registry
        var result = try fresh.join(
            room: room,
            password: password,
            name: name,
            since: since,
            by: ConnectionKey(gateway: "gw-a", connectionID: connection),
            now: now
        )
        let output = harness.send(
            .join(room: room, password: password, name: name, since: since),
            connection: connection,
            now: now
        )
        guard case .success(let success) = output.reply?.result else {
            XCTFail("join refused: \(String(describing: output.reply))", file: file, line: line)
            throw ChatError(.internalError, "refused")
        }
        // The token is a fresh random draw in each: compare all the rest.
        result.token = try JSONValue.parse(success.json, limits: .trusted)["token"]?.stringValue ?? ""
        let expected = BrokerEngine.encodedJoinJSON(result, room: room)
        XCTAssertEqual(
            String(decoding: success.json, as: UTF8.self),
            String(decoding: expected, as: UTF8.self),
            "since \(String(describing: since))",
            file: file,
            line: line
        )
        return try JSONValue.parse(success.json, limits: .trusted)
    }

    /// Sends `count` messages to `room` from the member on `connection`, cycling through ``texts``.
    func say(_ harness: inout EngineHarness, _ room: String, count: Int, from connection: UInt64, offset: Int = 0) {
        for index in 0..<count {
            let text = Self.texts[(index + offset) % Self.texts.count] + " #\(index + offset)"
            let sent = harness.send(.message(room: room, text: text, key: ""), connection: connection)
            XCTAssertNil(EngineHarness.failure(sent), text)
        }
    }

    /// An engine keeping `historySize` messages and `historyBytes` per room, with `room` created and
    /// joined by its writer on connection 1; returns it and the room's password.
    func writtenRoom(_ room: String, historySize: Int, historyBytes: Int) throws -> (EngineHarness, String) {
        var configuration = RoomRegistryConfiguration()
        configuration.historySize = historySize
        configuration.historyByteBudget = historyBytes
        var harness = EngineHarness(configuration: configuration)
        let password = try harness.create(room)
        try checkJoin(&harness, room, password: password, name: Self.names[0], connection: 1)
        return (harness, password)
    }

    func testCachedAcksAreTheFreshlyEncodedOnesForEverySinceAndEveryDrop() throws {
        var (harness, password) = try writtenRoom("lobby", historySize: 12, historyBytes: 2 << 10)
        var connection: UInt64 = 2
        for round in 0..<6 {
            // Messages (some dropped by count, some by bytes), an HTTP post, then joins with every kind of `since`.
            say(&harness, "lobby", count: 3 + round * 2, from: 1, offset: round * 5)
            let post = harness.send(
                .post(room: "lobby", password: password, name: "api ⚙️", text: "via http \(round)", key: ""),
                connection: 500
            )
            XCTAssertNil(EngineHarness.failure(post))
            let room = try XCTUnwrap(harness.engine.registry.rooms["lobby"])
            let kept = Array(room.history).map(\.seq)
            let sinces: [UInt64?] = [
                nil, 0, room.lastDroppedMessageSeq, kept.first.map { $0 - 1 }, kept.first, kept[kept.count / 2],
                kept.last, room.lastSeq, room.lastSeq + 5,
            ]
            for since in sinces {
                let name = "\(Self.names[Int(connection) % Self.names.count]) \(connection)"
                try checkJoin(&harness, "lobby", password: password, name: name, since: since, connection: connection)
                connection += 1
            }
            // A retried join (the same connection and name) answers from the cache too.
            let name = "\(Self.names[Int(connection - 1) % Self.names.count]) \(connection - 1)"
            try checkJoin(&harness, "lobby", password: password, name: name, since: 0, connection: connection - 1)
            XCTAssertEqual(
                harness.engine.historyCache.cachedCount(of: "lobby"),
                room.history.count,
                "the cache holds what the room keeps, no more"
            )
        }
    }

    func testAnAckCutToTheReplyBudgetIsTheFreshOne() throws {
        var (harness, password) = try writtenRoom("heavy", historySize: 200, historyBytes: 4 << 20)
        // 150 of the largest texts: 1.2 MB, more than one reply holds.
        let text = String(repeating: "😀", count: FieldValidator.maxTextScalars)
        for _ in 0..<150 { _ = harness.send(.message(room: "heavy", text: text, key: ""), connection: 1) }
        let lastSeq = try XCTUnwrap(harness.engine.registry.rooms["heavy"]?.lastSeq)
        for (index, since) in [nil, 0, 10, lastSeq - 140, lastSeq - 100, lastSeq - 1].enumerated() {
            let ack = try checkJoin(
                &harness,
                "heavy",
                password: password,
                name: "reader \(index)",
                since: since,
                connection: UInt64(10 + index)
            )
            let history = try XCTUnwrap(ack["history"]?.arrayValue)
            XCTAssertLessThanOrEqual(history.count, 150)
            if since == nil || since == 0 || since == 10 {
                XCTAssertLessThan(history.count, 150, "cut to fit the frame")
                if since != nil { XCTAssertEqual(ack["complete"], .bool(false)) }
            }
        }
    }

    func testARoomCreatedAgainUnderTheSameNameIsNeverAnsweredWithTheOldOnesHistory() throws {
        var harness = EngineHarness(configuration: Self.expiringAtOnce)
        var password = try harness.create("lobby")
        try checkJoin(&harness, "lobby", password: password, name: "first", connection: 1)
        say(&harness, "lobby", count: 5, from: 1)
        try checkJoin(&harness, "lobby", password: password, name: "second", connection: 2)
        for connection: UInt64 in [1, 2] { _ = harness.send(.leave(room: "lobby"), connection: connection) }
        // Expired behind the engine's back (not through its tick, which forgets the room's cache): only
        // the incarnation tells the new room from the old one, whose messages had the same seqs.
        XCTAssertEqual(harness.engine.registry.expireEmptyRooms(now: 2_000), ["lobby"])
        password = try harness.create("lobby", now: 2_000)
        // Posts need no join (whose ack would bring the cache up to date while the room is empty).
        for index in 20..<26 {
            let text = Self.texts[index % Self.texts.count] + " #\(index)"
            let post = harness.send(
                .post(room: "lobby", password: password, name: "api", text: text, key: ""),
                now: 2_000
            )
            XCTAssertNil(EngineHarness.failure(post))
        }
        let ack = try checkJoin(
            &harness,
            "lobby",
            password: password,
            name: "third",
            since: 3,
            connection: 3,
            now: 2_000
        )
        let history = try XCTUnwrap(ack["history"]?.arrayValue)
        XCTAssertEqual(history.map { $0["seq"] }, (4...6).map { .number(Double($0)) }, "the old room's seqs again")
        XCTAssertEqual(
            history.compactMap { $0["text"]?.stringValue },
            (23..<26).map { Self.texts[$0 % Self.texts.count] + " #\($0)" }
        )
        try checkJoin(&harness, "lobby", password: password, name: "fourth", connection: 4, now: 2_000)
    }

    func testEachKeptMessageIsEncodedOnceHoweverManyJoinThenNoMoreOnceExpired() throws {
        var harness = EngineHarness(configuration: Self.expiringAtOnce)
        let password = try harness.create("lobby")
        _ = harness.send(.join(room: "lobby", password: password, name: "writer"), connection: 1)
        say(&harness, "lobby", count: 100, from: 1)
        for connection: UInt64 in 2...51 {
            try checkJoin(&harness, "lobby", password: password, name: "reader \(connection)", connection: connection)
        }
        say(&harness, "lobby", count: 10, from: 1, offset: 100)
        try checkJoin(&harness, "lobby", password: password, name: "late", connection: 52)
        XCTAssertEqual(
            harness.engine.historyCache.encodedMessages,
            110,
            "51 joins of 100 messages encoded 110 messages, not 5,100"
        )
        for connection: UInt64 in 1...52 { _ = harness.send(.leave(room: "lobby"), connection: connection) }
        _ = harness.engine.tick(now: 2_000)
        XCTAssertNil(harness.engine.registry.rooms["lobby"])
        XCTAssertEqual(harness.engine.historyCache.roomCount, 0, "an expired room's cache goes with it")
        XCTAssertEqual(harness.engine.historyCache.storedBytes, 0)
    }

    func testTheCacheStaysWithinItsBudgetForgettingTheRoomsJoinedLeastRecently() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.memoryBudget = 256 << 10
        configuration.createsPerConnection = 100
        var harness = EngineHarness(configuration: configuration)
        let budget = BrokerEngine.historyCacheByteBudget(configuration)
        let text = String(repeating: "é", count: 1_000)
        var passwords: [String] = []
        for index in 0..<12 {
            let room = "room-\(index)"
            passwords.append(try harness.create(room))
            let writer = UInt64(100 + index)
            _ = harness.send(.join(room: room, password: passwords[index], name: "writer"), connection: writer)
            for _ in 0..<8 { _ = harness.send(.message(room: room, text: text, key: ""), connection: writer) }
            try checkJoin(&harness, room, password: passwords[index], name: "reader", connection: UInt64(200 + index))
            XCTAssertLessThanOrEqual(harness.engine.historyCache.storedBytes, budget)
        }
        XCTAssertLessThan(harness.engine.historyCache.roomCount, 12, "rooms were forgotten")
        XCTAssertNotNil(harness.engine.historyCache.cachedCount(of: "room-11"), "the newest is kept")
        XCTAssertNil(harness.engine.historyCache.cachedCount(of: "room-0"), "the least recent went first")
        // A forgotten room's next join encodes it again, with the same bytes.
        try checkJoin(&harness, "room-0", password: passwords[0], name: "back", connection: 300)
    }

    func testAStandbyWithAColdCacheAnswersTheSameBytes() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.historySize = 20
        var active = EngineHarness(configuration: configuration)
        let password = try active.create("lobby")
        _ = active.send(.join(room: "lobby", password: password, name: "writer"), connection: 1)
        say(&active, "lobby", count: 30, from: 1)
        try checkJoin(&active, "lobby", password: password, name: "warm", connection: 2)
        var standby = EngineHarness()
        standby.engine = BrokerEngine(snapshot: active.engine.snapshot(), logger: standby.recorder.logger)
        standby.greeted = active.greeted
        standby.nextRequestID = active.nextRequestID
        XCTAssertEqual(standby.engine.historyCache.roomCount, 0, "derived state is not in the snapshot")
        for index in 0..<4 {
            say(&active, "lobby", count: 7, from: 1, offset: index * 7)
            say(&standby, "lobby", count: 7, from: 1, offset: index * 7)
            let join = WireCommand.Body.join(
                room: "lobby",
                password: password,
                name: "n\(index)",
                since: UInt64(index * 9)
            )
            let (expected, actual) = active.sendMirrored(join, to: &standby, connection: UInt64(10 + index))
            XCTAssertEqual(actual, expected)
        }
    }
}
