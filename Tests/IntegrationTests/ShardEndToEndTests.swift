import ChatTestSupport
import ChatWire
import Foundation
import SocketIO
import XCTest
import ZeroMQ

/// Rooms sharded over two real `RoomBroker`s (`--shard 0/2`, `--shard 1/2`) behind two real `Gateway`s
/// (`--shards 2`), all with the same `--shard-key`, checked as users see it (docs/PROTOCOL.md, "Shards").
/// Under the test's key, among 2 shards "random" is shard 0's and "lobby" shard 1's.
final class ShardEndToEndTests: XCTestCase {
    var brokers: [ServerProcess] = []
    var gateways: [ServerProcess] = []
    /// The command and broadcast endpoints of shard 0's and shard 1's broker.
    let endpoints = (0..<2).map { _ in
        (
            commands: "tcp://127.0.0.1:\(ServerProcess.freePort())",
            broadcasts: "tcp://127.0.0.1:\(ServerProcess.freePort())"
        )
    }
    var ports: [Int] = []
    /// The cluster's placement key, and the file every process is given.
    static let key = ShardKey(bytes: [2, 0] + (2..<16).map { UInt8($0) })
    var keyFile = ""

    /// Writes `key` (32 hex digits, mode 0600) to a new file; returns its path.
    static func writeKeyFile(_ bytes: [UInt8], name: String) throws -> String {
        let path = NSTemporaryDirectory() + "\(name)-\(UUID().uuidString.prefix(8)).shard_key"
        let text = bytes.map { String($0 >> 4, radix: 16) + String($0 & 0xf, radix: 16) }.joined() + "\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        return path
    }

    var logPrefix: String { "shard-" + name.filter { $0.isLetter || $0.isNumber } }

    override func setUpWithError() throws {
        keyFile = try Self.writeKeyFile([2, 0] + (2..<16).map { UInt8($0) }, name: "cluster")
        for (index, endpoint) in endpoints.enumerated() {
            let broker = try ServerProcess(
                executable: "RoomBroker",
                arguments: [
                    "--commands", endpoint.commands, "--broadcasts", endpoint.broadcasts, "--shard", "\(index)/2",
                    "--session-grace", "0", "--insecure-loopback", "--shard-key", keyFile,
                ],
                logName: "\(logPrefix)-broker-\(index)"
            )
            brokers.append(broker)
            guard broker.waitForOutput(containing: "listening", timeout: ChatCluster.startTimeout) else {
                throw ChatCluster.StartFailure(description: "broker \(index) did not start:\n\(broker.output)")
            }
            let fingerprint = try XCTUnwrap(Self.key).fingerprint
            XCTAssertTrue(broker.output.contains("shard=\"\(index)/2 key \(fingerprint)\""), broker.output)
        }
        ports = [ServerProcess.freePort(), ServerProcess.freePort()]
        for (id, port) in zip(["gw-a", "gw-b"], ports) {
            gateways.append(
                try ServerProcess(
                    executable: "Gateway",
                    arguments: gatewayArguments(id: id, port: port),
                    logName: "\(logPrefix)-\(id)"
                )
            )
        }
        let deadline = Date().addingTimeInterval(ChatCluster.startTimeout)
        for (gateway, port) in zip(gateways, ports) {
            while !ChatCluster.isHealthy(port: port) {
                guard gateway.process.isRunning, Date() < deadline else {
                    throw ChatCluster.StartFailure(
                        description: "a gateway never answered GET /healthz with 200:\n\(gateway.output)"
                    )
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    /// A gateway over both shards: shard 0's broker first.
    func gatewayArguments(id: String, port: Int) -> [String] {
        [
            "--port", "\(port)", "--host", "127.0.0.1", "--shards", "2", "--gateway-id", id, "--insecure-loopback",
            "--shard-key", keyFile,
            "--static-dir", ServerProcess.repositoryRoot.appendingPathComponent("static").path,
        ]
            + endpoints.flatMap { ["--broker-commands", $0.commands, "--broker-broadcasts", $0.broadcasts] }
    }

    override func tearDown() {
        if let run = testRun, run.totalFailureCount > 0 {
            for process in brokers + gateways {
                print(
                    "--- \(process.logURL.lastPathComponent):\n"
                        + process.output.split(separator: "\n").suffix(20).joined(separator: "\n")
                )
            }
        }
        for process in gateways + brokers { process.stop() }
        gateways = []
        brokers = []
    }

    /// Whether `broker` logged the creation of `room` (within `timeout`: log lines are written by their
    /// own thread).
    func logsCreation(_ broker: ServerProcess, of room: String, timeout: TimeInterval = 0) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            let logged = broker.output.split(separator: "\n").contains { line in
                let words = line.split(separator: " ")
                return words.contains("create") && words.contains(Substring("room=\(room)"))
            }
            if logged { return true }
            Thread.sleep(forTimeInterval: 0.02)
        } while Date() < deadline
        return false
    }

    func join(
        _ client: SocketIOTestClient,
        _ room: String,
        _ password: String,
        as name: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let ack = try client.emit(
            "join",
            ["room": .string(room), "password": .string(password), "name": .string(name)]
        )
        XCTAssertNil(ack["error"], "join \(room) refused: \(ack.jsonText)", file: file, line: line)
    }

    func testRoomsLandOnTheirShardsAndChatWorksAcrossGatewaysInBoth() throws {
        let ann = try SocketIOTestClient(port: ports[0])
        let bob = try SocketIOTestClient(port: ports[1])
        var passwords: [String: String] = [:]
        for room in ["random", "lobby"] {
            let ack = try ann.emit("create", ["name": "ann", "room": .string(room)])
            passwords[room] = try XCTUnwrap(ack["password"]?.stringValue, "create \(room): \(ack.jsonText)")
        }
        // Rooms without a name go to the shards in turn, each named for the shard that made it.
        var generated: [String] = []
        for _ in 0..<4 {
            let ack = try bob.emit("create", ["name": "bob"])
            let room = try XCTUnwrap(ack["room"]?.stringValue, "create: \(ack.jsonText)")
            generated.append(room)
            passwords[room] = ack["password"]?.stringValue
        }
        XCTAssertEqual(
            Set(generated.map { Shard.index(ofRoom: $0, count: 2, key: Self.key) }),
            [0, 1],
            "both shards got new rooms: \(generated)"
        )
        for room in ["random", "lobby"] + generated {
            let shard = Shard.index(ofRoom: room, count: 2, key: Self.key)
            XCTAssertTrue(logsCreation(brokers[shard], of: room, timeout: 5), "broker \(shard) did not create \(room)")
            XCTAssertFalse(logsCreation(brokers[1 - shard], of: room), "broker \(1 - shard) created \(room)")
        }

        // Chat across the gateways in a room of each shard.
        for room in ["random", "lobby"] {
            try join(ann, room, try XCTUnwrap(passwords[room]), as: "ann")
            try join(bob, room, try XCTUnwrap(passwords[room]), as: "bob")
            _ = try ann.waitForEvent("joined") { $0["room"]?.stringValue == room && $0["name"]?.stringValue == "bob" }
            let fromAnn = try ann.emit("message", ["room": .string(room), "text": .string("ann in \(room)")])
            XCTAssertNotNil(fromAnn["seq"], fromAnn.jsonText)
            let heard = try bob.waitForEvent("message") { $0["room"]?.stringValue == room }
            XCTAssertEqual(heard.argument["text"]?.stringValue, "ann in \(room)")
            _ = try bob.emit("message", ["room": .string(room), "text": .string("bob in \(room)")])
            let answer = try ann.waitForEvent("message") {
                $0["room"]?.stringValue == room && $0["name"]?.stringValue == "bob"
            }
            XCTAssertEqual(answer.argument["text"]?.stringValue, "bob in \(room)")
        }
        // An HTTP post lands in its shard's room too.
        let post = try RawTestClient(port: ports[1]).request(
            "POST",
            "/api/rooms/lobby/messages",
            headers: [
                "Authorization": "Bearer \(try XCTUnwrap(passwords["lobby"]))", "Content-Type": "application/json",
            ],
            body: #"{"name":"bot","text":"over http"}"#
        )
        XCTAssertEqual(post.status, 202, post.body)
        XCTAssertEqual(
            try ann.waitForEvent("message") { $0["text"]?.stringValue == "over http" }.argument["room"]?.stringValue,
            "lobby"
        )

        // The room list shows the rooms of both shards, page by page and over HTTP.
        let everyRoom = (["random", "lobby"] + generated).sorted()
        var listed: [String] = []
        var after: JSONValue = .null
        for _ in 0..<10 {
            var request: JSONValue = ["limit": 2]
            if after != .null { request = ["limit": 2, "after": after] }
            let page = try bob.emit("rooms", request)
            listed += try XCTUnwrap(page["rooms"]?.arrayValue, page.jsonText).compactMap { $0["room"]?.stringValue }
            after = page["next"] ?? .null
            if after == .null { break }
        }
        XCTAssertEqual(listed, everyRoom)
        let overHTTP = try RawTestClient(port: ports[0]).request("GET", "/api/rooms")
        XCTAssertEqual(overHTTP.status, 200)
        let rooms = try JSONValue.parse(overHTTP.body)["rooms"]?.arrayValue?.compactMap { $0["room"]?.stringValue }
        XCTAssertEqual(rooms, everyRoom)
        XCTAssertEqual(ann.unexpectedFrames + bob.unexpectedFrames, [])
    }

    func testABrokerRefusesARoomOfTheOtherShard() throws {
        let ann = try SocketIOTestClient(port: ports[0])
        let ack = try ann.emit("create", ["name": "ann", "room": "lobby"])
        let password = try XCTUnwrap(ack["password"]?.stringValue, ack.jsonText)
        // A gateway that sends lobby's join straight to shard 0's broker is refused there.
        let context = try ZMQContext()
        let stray = try FakeGateway(
            context: context,
            name: "gw-stray",
            commandsEndpoint: endpoints[0].commands,
            broadcastsEndpoint: endpoints[0].broadcasts
        )
        XCTAssertNil(try stray.request(.hello(gatewayName: "gw-stray")).failure)
        let refused = try stray.request(.join(room: "lobby", password: password, name: "eve"), connection: 1)
        XCTAssertEqual(refused.failure?.code, .wrongShard, "\(refused)")
        XCTAssertEqual(
            try stray.request(.create(name: "eve", room: "lobby", key: ""), connection: 1).failure?.code,
            .wrongShard
        )
        XCTAssertTrue(brokers[0].waitForOutput(containing: "reason=wrong_shard"), brokers[0].output)
        // The owner still has the room and nobody joined it.
        let bob = try SocketIOTestClient(port: ports[1])
        try join(bob, "lobby", password, as: "bob")
        let list = try bob.emit("rooms", [:])
        let lobby = list["rooms"]?.arrayValue?.first { $0["room"]?.stringValue == "lobby" }
        XCTAssertEqual(lobby?["members"], 1, list.jsonText)
    }

    func testAGatewayWithAnotherShardKeyIsToldWhatToFix() throws {
        let otherKey = [UInt8](repeating: 7, count: 16)
        let otherFile = try Self.writeKeyFile(otherKey, name: "other")
        // A room the other key places on the other shard than the cluster's key does.
        let room = try XCTUnwrap(
            (0..<100).map { "room\($0)" }.first {
                Shard.index(ofRoom: $0, count: 2, key: ShardKey(bytes: otherKey))
                    != Shard.index(ofRoom: $0, count: 2, key: Self.key)
            }
        )
        let port = ServerProcess.freePort()
        var arguments = gatewayArguments(id: "gw-other", port: port)
        arguments[arguments.firstIndex(of: keyFile)!] = otherFile
        let gateway = try ServerProcess(executable: "Gateway", arguments: arguments, logName: "\(logPrefix)-other")
        gateways.append(gateway)
        let deadline = Date().addingTimeInterval(ChatCluster.startTimeout)
        while !ChatCluster.isHealthy(port: port) {
            guard gateway.process.isRunning, Date() < deadline else {
                return XCTFail("the gateway never answered GET /healthz with 200:\n\(gateway.output)")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let ann = try SocketIOTestClient(port: port)
        let ack = try ann.emit("create", ["name": "ann", "room": .string(room)])
        XCTAssertEqual(ack["code"]?.stringValue, "wrong_shard", ack.jsonText)
        let text = ack["error"]?.stringValue ?? ""
        XCTAssertTrue(text.contains("--shard-key"), text)
        XCTAssertTrue(text.contains(try XCTUnwrap(Self.key).fingerprint), "the broker's key fingerprint: \(text)")
        XCTAssertTrue(gateway.output.contains("key=\(try XCTUnwrap(ShardKey(bytes: otherKey)).fingerprint)"))
    }

    func testAShardedGatewayOrBrokerNeedsTheKey() throws {
        let port = ServerProcess.freePort()
        var arguments = gatewayArguments(id: "gw-keyless", port: port)
        arguments.removeSubrange(arguments.firstIndex(of: "--shard-key")!...arguments.firstIndex(of: keyFile)!)
        try assertRefused(arguments, saying: "--shards 2 needs --shard-key FILE", logName: "keyless")
    }

    /// Starts a gateway with `arguments` and asserts that it exits at once (within 10 s) saying `reason`.
    func assertRefused(
        _ arguments: [String],
        saying reason: String,
        logName: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let gateway = try ServerProcess(executable: "Gateway", arguments: arguments, logName: "\(logPrefix)-\(logName)")
        let deadline = Date().addingTimeInterval(10)
        while gateway.process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        guard !gateway.process.isRunning else {
            gateway.stop()
            return XCTFail("the gateway started instead of refusing: \(gateway.output)", file: file, line: line)
        }
        XCTAssertNotEqual(gateway.process.terminationStatus, 0, file: file, line: line)
        XCTAssertTrue(gateway.output.contains(reason), gateway.output, file: file, line: line)
    }

    func testAGatewayRefusesBrokerListsThatDoNotFitTheShards() throws {
        let port = ServerProcess.freePort()
        try assertRefused(
            gatewayArguments(id: "gw-odd", port: port) + [
                "--broker-commands", endpoints[0].commands, "--broker-broadcasts", endpoints[0].broadcasts,
            ],
            saying: "with --shards 2 give 2 brokers (one per shard) or 4 (a pair per shard)",
            logName: "odd"
        )
        try assertRefused(
            gatewayArguments(id: "gw-csr", port: port) + ["--connection-state-recovery"],
            saying: "--connection-state-recovery works with one shard only",
            logName: "csr"
        )
    }
}
