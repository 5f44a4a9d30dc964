import ChatWire
import SocketIO
import XCTest

@testable import RoomBrokerCore

/// The binary snapshot format (`SnapshotEncoder`, `SnapshotDecoder`) and the broker's state on it.
final class SnapshotCodingTests: XCTestCase {
    static let longestName = String(repeating: "😀", count: FieldValidator.maxNameBytes / 4)
    static let longestRoom = String(repeating: "r", count: FieldValidator.maxRoomLength)
    static let longestText = String(repeating: "😀", count: FieldValidator.maxTextBytes / 4)
    static let pid = "0123456789abcdef0123456789abcdef"

    // MARK: The broker's state

    /// A broker with rooms of every kind: non-ASCII names and texts, the longest names, room name and
    /// text, members connected, in their session grace and with recovery sessions, HTTP posts, refused
    /// passwords, idempotency keys, a generated room name, and a room that stayed empty.
    func realisticHarness(
        longText: String = SnapshotCodingTests.longestText
    ) throws -> (harness: EngineHarness, passwords: [String: String]) {
        var configuration = RoomRegistryConfiguration()
        configuration.sessionGraceMilliseconds = 60_000
        var harness = EngineHarness(configuration: configuration)
        var passwords: [String: String] = [:]
        for room in ["lobby", Self.longestRoom, "empty-room"] {
            passwords[room] = try harness.create(room, client: "10.0.0.1")
        }
        let generated = try EngineHarness.json(
            harness.send(.create(name: "Zoë", room: "", key: "k-1"), client: "10.0.0.2")
        )
        let generatedRoom = try XCTUnwrap(generated["room"]?.stringValue)
        passwords[generatedRoom] = try XCTUnwrap(generated["password"]?.stringValue)
        let members: [(name: String, gateway: String, connection: UInt64, pid: String)] = [
            ("alice", "gw-a", 1, Self.pid), ("Zoë 🚀", "gw-a", 2, ""), ("日本語の名前", "gw-b", 3, ""),
            (Self.longestName, "gw-b", 4, ""), ("Ålesund", "gw-a", 5, ""),
        ]
        for room in ["lobby", Self.longestRoom, generatedRoom] {
            let password = try XCTUnwrap(passwords[room])
            for member in members {
                let join = harness.send(
                    .join(room: room, password: password, name: member.name, pid: member.pid),
                    gateway: member.gateway,
                    connection: member.connection,
                    client: "10.0.1.\(member.connection)"
                )
                XCTAssertNil(EngineHarness.failure(join), "\(member.name) in \(room)")
            }
        }
        let texts = ["hello", "Grüße aus Köln ☕️", "\"quoted\"\n\ttabbed\\", "日本語のテキスト", longText, "x"]
        for (index, text) in texts.enumerated() {
            let member = members[index % members.count]
            let sent = harness.send(
                .message(room: "lobby", text: text, key: index % 2 == 0 ? "m:\(index)" : ""),
                gateway: member.gateway,
                connection: member.connection,
                now: BrokerClock(integerLiteral: 1_000 + UInt64(index))
            )
            XCTAssertNil(EngineHarness.failure(sent), text)
        }
        _ = harness.send(.message(room: Self.longestRoom, text: longText, key: ""), connection: 1)
        let lobby = try XCTUnwrap(passwords["lobby"])
        let post = harness.send(
            .post(room: "lobby", password: lobby, name: "api ⚙️", text: "via http", key: "p:1"),
            gateway: "gw-b",
            connection: 77,
            client: "10.0.0.9"
        )
        XCTAssertNil(EngineHarness.failure(post))
        // Refused passwords leave counts in the rate limiters.
        for attempt in 0..<3 {
            let refused = harness.send(
                .join(room: "lobby", password: "wrong-\(attempt)", name: "mallory"),
                gateway: "gw-b",
                connection: 50,
                client: "192.0.2.7"
            )
            XCTAssertEqual(EngineHarness.failure(refused), .wrongPassword)
        }
        // Ålesund leaves, gw-b's connection 4 drops: its member is kept for the session grace.
        _ = harness.send(.leave(room: "lobby"), gateway: "gw-a", connection: 5, now: 2_000)
        _ = harness.send(.disconnect, gateway: "gw-b", connection: 4, now: 2_000)
        return (harness, passwords)
    }

    func testARealisticStateRoundTripsToIdenticalBytesAndBehavesTheSame() throws {
        var (original, passwords) = try realisticHarness()
        let bytes = try original.engine.snapshot().encoded()
        let decoded = try BrokerSnapshot.decode(bytes)
        XCTAssertEqual(try decoded.encoded(), bytes, "a decoded state re-encodes to other bytes")

        var restored = EngineHarness()
        restored.engine = BrokerEngine(snapshot: decoded, logger: restored.recorder.logger)
        restored.greeted = original.greeted
        restored.nextRequestID = original.nextRequestID
        XCTAssertEqual(try restored.engine.snapshot().encoded(), bytes)
        XCTAssertEqual(restored.engine.instance, original.engine.instance)
        XCTAssertEqual(restored.engine.registry.rooms.keys.sorted(), original.engine.registry.rooms.keys.sorted())
        XCTAssertEqual(restored.engine.registry.storedBytes, original.engine.registry.storedBytes)
        XCTAssertEqual(restored.engine.registry.connectedMembers, original.engine.registry.connectedMembers)
        XCTAssertEqual(
            restored.engine.registry.connectedMembersByGateway,
            original.engine.registry.connectedMembersByGateway
        )

        // The same commands give the same replies and broadcasts, byte for byte.
        let lobby = try XCTUnwrap(passwords["lobby"])
        let longest = try XCTUnwrap(passwords[Self.longestRoom])
        let commands: [(body: WireCommand.Body, gateway: String, connection: UInt64)] = [
            (.join(room: "lobby", password: lobby, name: "newcomer ✨", since: 0), "gw-c", 9),
            (.join(room: "lobby", password: lobby, name: Self.longestName), "gw-c", 10),
            (.join(room: "lobby", password: "wrong", name: "mallory"), "gw-b", 50),
            (.message(room: "lobby", text: "after the round trip", key: "m:0"), "gw-a", 1),
            (.message(room: "lobby", text: "a new one", key: ""), "gw-a", 2),
            (.replay(room: "lobby", from: 1, to: 100), "gw-a", 0),
            (.listRooms(after: "", limit: 10), "gw-a", 0),
            (.join(room: Self.longestRoom, password: longest, name: "Ålesund"), "gw-c", 11),
        ]
        for command in commands {
            let (body, gateway, connection) = command
            let (expected, actual) = original.sendMirrored(
                body,
                to: &restored,
                gateway: gateway,
                connection: connection,
                now: 3_000
            )
            XCTAssertEqual(actual, expected, "\(command.body)")
        }
        // A join after the round trip gets the same history as one before it would have.
        let late = WireCommand.Body.join(room: "lobby", password: lobby, name: "late", since: 0)
        let (expected, join) = original.sendMirrored(late, to: &restored, gateway: "gw-c", connection: 12)
        XCTAssertEqual(join, expected)
        let history = try XCTUnwrap(EngineHarness.json(join)["history"]?.arrayValue).map { $0["text"]?.stringValue }
        XCTAssertTrue(history.contains(Self.longestText))
        XCTAssertTrue(history.contains("Grüße aus Köln ☕️"))
        XCTAssertEqual(history.last, "a new one")
        XCTAssertEqual(try restored.engine.snapshot().encoded(), try original.engine.snapshot().encoded())
    }

    func testAStateHoldingMegabytesOfLongTextsEncodesToLittleMoreThanItsText() throws {
        var harness = EngineHarness()
        let rooms = 24
        let messages = 32
        let emoji = ["😀", "😃", "😄", "😁", "😆", "😅", "😂", "🤣"]
        for room in 0..<rooms {
            let name = "room-\(room)"
            let password = try harness.create(name, client: "10.0.\(room).1", connection: UInt64(1_000 + room))
            _ = try EngineHarness.json(
                harness.send(
                    .join(room: name, password: password, name: "writer"),
                    connection: UInt64(room + 1),
                    client: "10.0.\(room).1"
                )
            )
            for index in 0..<messages {
                // The longest text (2000 four-byte scalars), different in every message.
                let number = room * messages + index
                let text =
                    String(repeating: emoji[number % emoji.count], count: 1_999)
                    + emoji[number / emoji.count % emoji.count]
                _ = harness.send(.message(room: name, text: text, key: ""), connection: UInt64(room + 1))
            }
        }
        var content = 0
        for room in harness.engine.registry.rooms.values {
            content += room.history.reduce(0) { $0 + $1.text.utf8.count + $1.name.utf8.count }
            content += room.recentBroadcasts.reduce(0) { $0 + $1.payload.count }
        }
        XCTAssertGreaterThan(content, 12_000_000)
        let snapshot = harness.engine.snapshot()
        var clock = ContinuousClock.now
        let bytes = try snapshot.encoded()
        let encoding = clock.duration(to: .now)
        clock = .now
        let decoded = try BrokerSnapshot.decode(bytes)
        let decoding = clock.duration(to: .now)
        XCTAssertLessThanOrEqual(Double(bytes.count), 1.2 * Double(content))
        XCTAssertEqual(decoded.registry.storedBytes, snapshot.registry.storedBytes)
        print(
            "[snapshot] \(content) bytes of text → \(bytes.count) bytes (\(Double(bytes.count) / Double(content))×); "
                + "encoded in \(encoding), decoded in \(decoding) (this build; scripts/bench snapshot measures release)"
        )
    }

    // MARK: Helpers

    /// `value` encoded, then decoded as a `T`.
    static func recoded<T: Decodable>(_ value: some Encodable, as type: T.Type) throws -> T {
        try SnapshotDecoder().decode(type, from: SnapshotEncoder().encode(value))
    }

    /// `body` framed as a snapshot with a valid length and checksum.
    static func sealed(_ body: [UInt8]) -> [UInt8] {
        var bytes = Array("CHSN".utf8) + [1, 0, 0, 0]
        withUnsafeBytes(of: UInt64(body.count).littleEndian) { bytes += $0 }
        bytes += body
        withUnsafeBytes(of: CRC32C.checksum(body).littleEndian) { bytes += $0 }
        return bytes
    }
}

extension SnapshotCodingError {
    /// The case's name, to compare errors whose other fields do not matter.
    var kind: String { Mirror(reflecting: self).children.first?.label ?? "\(self)" }
}

extension Array where Element == UInt8 {
    /// How often `pattern` occurs.
    func count(of pattern: [UInt8]) -> Int {
        guard !pattern.isEmpty, pattern.count <= count else { return 0 }
        return (0...(count - pattern.count)).filter { self[$0..<$0 + pattern.count].elementsEqual(pattern) }.count
    }
}
