import ChatWire
import Logging
import RoomBrokerCore
import SocketIO
import Synchronization
import XCTest

/// Collects every log line an engine writes.
final class LogRecorder: Sendable {
    let lines = Mutex<[String]>([])

    var logger: Logger {
        Logger(label: "test") { _ in RecordingHandler(recorder: self) }
    }

    struct RecordingHandler: LogHandler {
        let recorder: LogRecorder
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let fields = (event.metadata ?? [:]).map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")
            recorder.lines.withLock { $0.append("\(event.level) \(event.message) \(fields)") }
        }
    }
}

final class BrokerEngineTests: XCTestCase {
    var recorder = LogRecorder()
    var engine = BrokerEngine(logger: Logger(label: "unused"))

    override func setUp() {
        recorder = LogRecorder()
        engine = BrokerEngine(logger: recorder.logger)
    }

    /// Gateways that said hello (the engine refuses any other command from a gateway it does not know).
    var greeted: Set<String> = []

    override func tearDown() {
        greeted = []
    }

    func send(
        _ body: WireCommand.Body,
        gateway: String = "gw-a",
        connection: UInt64 = 1,
        client: String = "",
        now: BrokerClock = 1_000
    ) -> BrokerOutput {
        if !greeted.contains(gateway) {
            greeted.insert(gateway)
            _ = engine.handle(
                frame: WireCommand(requestID: 1, connectionID: 0, body: .hello(gatewayName: gateway)).encoded(),
                from: gateway,
                now: now
            )
        }
        let command = WireCommand(requestID: 7, connectionID: connection, client: client, body: body)
        return engine.handle(frame: command.encoded(), from: gateway, now: now)
    }

    func successJSON(_ output: BrokerOutput, file: StaticString = #filePath, line: UInt = #line) throws -> JSONValue {
        guard case .success(let success) = output.reply?.result else {
            XCTFail("expected success, got \(String(describing: output.reply))", file: file, line: line)
            throw ChatError(.internalError, "no success")
        }
        return try JSONValue.parse(success.json, limits: .trusted)
    }

    func createRoom() throws -> (room: String, password: String) {
        let json = try successJSON(send(.create(name: "alice", room: "lobby", key: "")))
        return (try XCTUnwrap(json["room"]?.stringValue), try XCTUnwrap(json["password"]?.stringValue))
    }

    func testJoinReplyAndBroadcastAreTheClientProtocol() throws {
        let (room, password) = try createRoom()
        _ = send(.join(room: room, password: password, name: "alice"))
        _ = send(.message(room: room, text: "hi <b>", key: ""))
        let output = send(.join(room: room, password: password, name: "bob"), gateway: "gw-b", connection: 9)
        let ack = try successJSON(output)
        XCTAssertEqual(ack["room"], "lobby")
        XCTAssertEqual(ack["seq"], 3)
        XCTAssertEqual(ack["members"], ["alice", "bob"])
        XCTAssertEqual(ack["count"], 2)
        XCTAssertEqual(ack["history"]?.arrayValue?.first?["text"], "hi <b>")
        XCTAssertEqual(output.reply?.requestID, 7)
        XCTAssertEqual(output.reply?.connectionID, 9)

        let broadcast = try XCTUnwrap(output.broadcasts.first)
        XCTAssertEqual(broadcast.kind, .joined)
        XCTAssertEqual(broadcast.seq, 3)
        XCTAssertEqual(broadcast.gateway, "gw-b")
        let text = String(decoding: broadcast.payload, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix(#"42["joined",{"#), text)
        let packet = try SocketIOPacket.parse(text.dropFirst())
        XCTAssertEqual(packet.data, ["joined", ["room": "lobby", "seq": 3, "name": "bob", "count": 2]])
    }

    func testMessageIsEncodedOnceAsTheSocketIOEvent() throws {
        let (room, password) = try createRoom()
        _ = send(.join(room: room, password: password, name: "alice"))
        let output = send(.message(room: room, text: "hello \"you\"\n", key: ""), now: 5_000)
        XCTAssertEqual(try successJSON(output)["seq"], 2)
        let broadcast = try XCTUnwrap(output.broadcasts.first)
        let packet = try SocketIOPacket.parse(String(decoding: broadcast.payload.dropFirst(), as: UTF8.self)[...])
        XCTAssertEqual(
            packet.data,
            ["message", ["room": "lobby", "seq": 2, "name": "alice", "text": "hello \"you\"\n", "ts": 5000]]
        )
        XCTAssertEqual(
            try engine.registry.replay(room: room, from: 2, to: 2).map(\.payload),
            [broadcast.payload],
            "the bytes kept for replay are the bytes published"
        )
    }

    func testRefusalsAreRepliedAndChangeNothing() throws {
        let (room, _) = try createRoom()
        let output = send(.join(room: room, password: "nope", name: "eve"))
        XCTAssertEqual(output.broadcasts, [])
        guard case .failure(let error) = output.reply?.result else { return XCTFail() }
        XCTAssertEqual(error.code, .wrongPassword)
        XCTAssertEqual(engine.registry.rooms[room]?.members.count, 0)
        XCTAssertTrue(
            recorder.lines.withLock { $0 }.contains {
                $0.contains("join-refused") && $0.contains("reason=wrong_password")
            }
        )
    }

    func testMalformedFramesGetAnInvalidReply() {
        for frame: [UInt8] in [
            [], [1], [9, 9, 9],
            WireCommand(requestID: 5, connectionID: 6, body: .leave(room: "x")).encoded().dropLast(),
        ] {
            let output = engine.handle(frame: frame, from: "gw-a", now: 1)
            XCTAssertEqual(output.broadcasts, [])
            XCTAssertEqual(output.reply?.kind, .invalid)
            guard case .failure(let error) = output.reply?.result else { return XCTFail() }
            XCTAssertEqual(error.code, .badRequest)
        }
        let truncated = engine.handle(
            frame: Array(WireCommand(requestID: 5, connectionID: 6, body: .leave(room: "x")).encoded().dropLast()),
            from: "gw-a",
            now: 1
        )
        XCTAssertEqual(truncated.reply?.requestID, 5)
        XCTAssertEqual(truncated.reply?.connectionID, 6)
    }

    func testPasswordIsNeverKeptNorLogged() throws {
        let (room, password) = try createRoom()
        // The random draws the password (and the salt) were made of, as the node would take them.
        var copy = engine.registry.random
        let draws = copy.takeRecorded()
        XCTAssertGreaterThanOrEqual(draws.count, PasswordGenerator.length, "the create's draws")
        _ = send(.join(room: room, password: password, name: "alice"))
        _ = send(.join(room: room, password: password + "x", name: "eve"), connection: 2)
        _ = send(.post(room: room, password: password, name: "api", text: "via http", key: ""), connection: 3)
        var state = ""
        dump(engine, to: &state)
        XCTAssertFalse(state.isEmpty)
        XCTAssertFalse(state.contains(password), "the plaintext password is in the broker state")
        let snapshot = try engine.snapshot().encoded()
        for draw in draws {
            XCTAssertFalse(
                state.contains(String(draw)) || state.contains(String(draw, radix: 16)),
                "a random draw the password was made of is in the broker state"
            )
            for bytes in [
                withUnsafeBytes(of: draw.littleEndian, Array.init), withUnsafeBytes(of: draw.bigEndian, Array.init),
            ] {
                XCTAssertFalse(contains(snapshot, bytes), "a random draw the password was made of is in the snapshot")
            }
        }
        let log = recorder.lines.withLock { $0 }.joined(separator: "\n")
        XCTAssertTrue(log.contains("create"), log)
        XCTAssertFalse(log.contains(password), "the plaintext password is in the log")
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains {
            haystack[$0..<($0 + needle.count)].elementsEqual(needle)
        }
    }

    func testEveryEventIsLoggedOnOneLine() throws {
        let (room, password) = try createRoom()
        _ = send(.join(room: room, password: password, name: "alice"))
        _ = send(.message(room: room, text: "two\nlines", key: ""))
        _ = send(.leave(room: room))
        let lines = recorder.lines.withLock { $0 }
        for event in ["create", "join", "message", "leave"] {
            XCTAssertTrue(
                lines.contains { $0.contains(" \(event) ") && $0.contains("room=lobby") },
                "\(event) missing in \(lines)"
            )
        }
    }

    func testSilentGatewayMembersAreAnnouncedAsLeftWithoutGrace() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.sessionGraceMilliseconds = 0
        engine = BrokerEngine(configuration: configuration, logger: recorder.logger)
        let (room, password) = try createRoom()
        _ = send(.join(room: room, password: password, name: "alice"), gateway: "gw-a", now: 1_000)
        _ = send(.join(room: room, password: password, name: "bob"), gateway: "gw-b", now: 1_000)
        _ = send(.heartbeat, gateway: "gw-b", now: 6_000)
        let output = engine.tick(now: 6_500)
        let events = output.broadcasts.filter { $0.kind != .head }
        XCTAssertEqual(events.map(\.kind), [.left])
        XCTAssertEqual(events.first?.gateway, "gw-a")
        XCTAssertEqual(engine.registry.rooms[room]?.memberNames(), ["bob"])
    }

    func testListRoomsNeverShowsPasswords() throws {
        let (_, password) = try createRoom()
        let json = try successJSON(send(.listRooms(after: "", limit: 0)))
        XCTAssertEqual(json["rooms"]?.arrayValue?.count, 1)
        XCTAssertEqual(json["rooms"]?.arrayValue?.first?["room"], "lobby")
        XCTAssertEqual(json["rooms"]?.arrayValue?.first?["members"], 0)
        let text = String(
            decoding: try XCTUnwrap(
                {
                    if case .success(let s) = send(.listRooms(after: "", limit: 0)).reply?.result {
                        return s.json
                    } else {
                        return nil
                    }
                }()
            ),
            as: UTF8.self
        )
        XCTAssertFalse(text.contains(password))
    }

    func testDisconnectBroadcastsLeftForEveryRoomWithoutGrace() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.sessionGraceMilliseconds = 0
        engine = BrokerEngine(configuration: configuration, logger: recorder.logger)
        let (room, password) = try createRoom()
        _ = send(.join(room: room, password: password, name: "alice"))
        let output = send(.disconnect)
        XCTAssertEqual(output.broadcasts.map(\.kind), [.left])
        XCTAssertEqual(output.broadcasts.first?.seq, 2)
    }

    func testANewSubscriptionIsAnsweredWithTheRoomsLastSeq() throws {
        let (room, password) = try createRoom()
        _ = send(.join(room: room, password: password, name: "alice"))
        _ = send(.message(room: room, text: "hi", key: ""))
        let marker = try XCTUnwrap(engine.subscribed(topic: WireFormat.topic(room: room)).broadcasts.first)
        XCTAssertEqual(marker.kind, .head)
        XCTAssertEqual(marker.seq, 2)
        XCTAssertEqual(marker.payload, [])
        XCTAssertEqual(engine.subscribed(topic: WireFormat.topic(room: "nowhere")).broadcasts.first?.seq, 0)
        XCTAssertEqual(engine.subscribed(topic: Array("garbage".utf8)).broadcasts, [])
    }

    func testHelloAndHeartbeatNameTheBrokerInstance() throws {
        greeted.insert("gw-a")
        guard case .success(let hello) = send(.hello(gatewayName: "gw")).reply?.result,
            case .success(let beat) = send(.heartbeat).reply?.result
        else { return XCTFail("hello and heartbeat must succeed") }
        XCTAssertEqual(hello.instance, engine.instance)
        XCTAssertEqual(beat.instance, engine.instance)
        XCTAssertFalse(engine.instance.isEmpty)
        XCTAssertNotEqual(BrokerEngine(logger: recorder.logger).instance, engine.instance, "each run has its own id")
    }

    func testARoomThatFallsQuietGetsItsHeadPublishedOnce() throws {
        let (room, password) = try createRoom()
        _ = send(.join(room: room, password: password, name: "alice"), now: 1_000)
        _ = send(.message(room: room, text: "last words", key: ""), now: 1_200)
        XCTAssertEqual(engine.tick(now: 1_600).broadcasts, [], "not quiet long enough yet")
        let heads = engine.tick(now: 1_700).broadcasts
        XCTAssertEqual(heads.map(\.kind), [.head])
        XCTAssertEqual(heads.first?.seq, 2)
        XCTAssertEqual(engine.tick(now: 5_000).broadcasts, [], "published once per quiet spell")
    }
}
