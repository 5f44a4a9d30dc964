import ChatTestSupport
import ChatWire
import Foundation
import SocketIO
import XCTest
import ZeroMQ

/// One real Gateway given two real RoomBroker processes (`--broker-commands` and
/// `--broker-broadcasts` twice). Until the lead's broker pair exists, both are solo brokers, each
/// "active" with its own state instance: the gateway follows the one that answers first, and when
/// that one is killed it fails over to the other, which counts as a broker that lost everything
/// (another instance): members are told to re-join, and clients can create, join and chat again.
final class BrokerFailoverEndToEndTests: XCTestCase {
    private var brokers: [ServerProcess] = []
    private var gateway: ServerProcess?
    private let endpoints = (0..<2).map { _ in
        (
            commands: "tcp://127.0.0.1:\(ServerProcess.freePort())",
            broadcasts: "tcp://127.0.0.1:\(ServerProcess.freePort())"
        )
    }

    private var logPrefix: String { "failover-" + name.filter { $0.isLetter || $0.isNumber }.suffix(40) }

    override func setUpWithError() throws {
        for (index, broker) in endpoints.enumerated() {
            let process = try ServerProcess(
                executable: "RoomBroker",
                arguments: ["--commands", broker.commands, "--broadcasts", broker.broadcasts, "--insecure-loopback"],
                logName: "\(logPrefix)-broker-\(index)"
            )
            brokers.append(process)
            guard process.waitForOutput(containing: "listening", timeout: ChatCluster.startTimeout) else {
                throw ChatCluster.StartFailure(description: "broker \(index) did not start:\n\(process.output)")
            }
        }
    }

    override func tearDown() {
        // A test that failed half-way must not leave a stopped process behind.
        for broker in brokers where broker.process.isRunning { kill(broker.process.processIdentifier, SIGCONT) }
        if let run = testRun, run.totalFailureCount > 0 {
            for (name, process) in [("gateway", gateway)]
                + brokers.enumerated().map({ ("broker \($0.offset)", Optional($0.element)) })
            {
                print(
                    "--- \(name):\n" + (process?.output.split(separator: "\n").suffix(20).joined(separator: "\n") ?? "")
                )
            }
        }
        gateway?.stop()
        for broker in brokers { broker.stop() }
    }

    /// Starts the gateway on both brokers and waits until `GET /healthz` answers 200; returns its port.
    private func startGateway() throws -> Int {
        let port = ServerProcess.freePort()
        let process = try ServerProcess(
            executable: "Gateway",
            arguments: [
                "--port", "\(port)", "--host", "127.0.0.1", "--gateway-id", "gw-pair", "--insecure-loopback",
                "--broker-commands", endpoints[0].commands, "--broker-commands", endpoints[1].commands,
                "--broker-broadcasts", endpoints[0].broadcasts, "--broker-broadcasts", endpoints[1].broadcasts,
                "--static-dir", ServerProcess.repositoryRoot.appendingPathComponent("static").path,
            ],
            logName: "\(logPrefix)-gateway"
        )
        gateway = process
        XCTAssertTrue(
            waitUntil(timeout: ChatCluster.startTimeout) { ChatCluster.isHealthy(port: port) },
            "the gateway never became healthy"
        )
        return port
    }

    private func waitUntil(timeout: TimeInterval, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// Whether broker `index` holds `room`, asked directly over ZeroMQ as another gateway would.
    private func broker(_ index: Int, holds room: String, context: ZMQContext) throws -> Bool {
        let probe = try FakeGateway(
            context: context,
            name: "gw-probe-\(UUID().uuidString)",
            commandsEndpoint: endpoints[index].commands,
            broadcastsEndpoint: endpoints[index].broadcasts
        )
        _ = try probe.request(.hello(gatewayName: "probe"))
        let page = try probe.request(.listRooms(after: "", limit: 100)).success()
        return String(decoding: page.json, as: UTF8.self).contains("\"\(room)\"")
    }

    /// A client that created `room`, joined it as `name` and has its password.
    private func member(
        of room: String,
        as name: String,
        port: Int
    ) throws -> (client: SocketIOTestClient, password: String) {
        let client = try SocketIOTestClient(port: port)
        let created = try client.emit("create", ["name": .string(name), "room": .string(room)])
        let password = try XCTUnwrap(created["password"]?.stringValue, "create refused: \(created.jsonText)")
        let joined = try client.emit(
            "join",
            ["room": .string(room), "password": .string(password), "name": .string(name)]
        )
        XCTAssertNil(joined["error"], "join refused: \(joined.jsonText)")
        return (client, password)
    }

    func testWhenTheFollowedBrokerIsKilledTheGatewayFollowsTheOtherAndClientsChatAgain() throws {
        try checkFailover(signal: SIGKILL)
    }

    /// A paused broker keeps its connections: the gateway fails over on its silence alone, and
    /// ignores it when it comes back (it is not the broker the gateway follows any more).
    func testWhenTheFollowedBrokerFreezesTheGatewayFollowsTheOtherAndIgnoresItWhenItComesBack() throws {
        let (followed, bob, carol) = try checkFailover(signal: SIGSTOP)
        XCTAssertEqual(kill(brokers[followed].process.processIdentifier, SIGCONT), 0)
        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertNotNil(try bob.emit("message", ["room": "after", "text": "still here"])["seq"])
        XCTAssertEqual(
            try carol.waitForEvent("message", timeout: 5, matching: { $0["text"] == "still here" }).argument["text"],
            "still here"
        )
        XCTAssertFalse(
            try broker(followed, holds: "after", context: ZMQContext()),
            "the resumed broker got commands again"
        )
    }

    /// Alice chats through the gateway; the broker it follows gets `signal`; she is told to re-join,
    /// and within a few seconds Bob creates a room (on the other broker), Carol joins and they chat.
    /// Returns the index of the broker that got the signal, and Bob and Carol.
    @discardableResult
    private func checkFailover(
        signal: Int32
    ) throws -> (followed: Int, bob: SocketIOTestClient, carol: SocketIOTestClient) {
        let port = try startGateway()
        let context = try ZMQContext()
        let (alice, _) = try member(of: "before", as: "alice", port: port)
        XCTAssertNotNil(try alice.emit("message", ["room": "before", "text": "hello"])["seq"])
        let holders = try (0..<2).filter { try broker($0, holds: "before", context: context) }
        XCTAssertEqual(holders.count, 1, "the gateway sent its commands to one broker only")
        let followed = try XCTUnwrap(holders.first)
        let survivor = 1 - followed

        XCTAssertEqual(kill(brokers[followed].process.processIdentifier, signal), 0)
        // The survivor never had alice's room (another instance, as after a restart): she is told to re-join.
        let close = try XCTUnwrap(
            try alice.waitForClose(timeout: 10),
            "alice was never told that her room's broker is gone"
        )
        XCTAssertTrue(close.reason.contains("the room broker restarted; join room"), "close reason: \(close.reason)")

        // Within a few seconds a client can create a room again, on the surviving broker.
        var created: JSONValue = .null
        let bob = try SocketIOTestClient(port: port)
        let recovered = try waitUntil(timeout: 10) {
            created = try bob.emit("create", ["name": "bob", "room": "after"])
            return created["password"] != nil
        }
        XCTAssertTrue(recovered, "creating a room kept failing after the failover: \(created.jsonText)")
        XCTAssertTrue(
            ChatCluster.isHealthy(port: port),
            "/healthz is not OK although the gateway follows the surviving broker"
        )
        XCTAssertTrue(try broker(survivor, holds: "after", context: context))

        let password = try XCTUnwrap(created["password"]?.stringValue)
        XCTAssertNil(try bob.emit("join", ["room": "after", "password": .string(password), "name": "bob"])["error"])
        let carol = try SocketIOTestClient(port: port)
        XCTAssertNil(
            try carol.emit("join", ["room": "after", "password": .string(password), "name": "carol"])["error"]
        )
        XCTAssertNotNil(try bob.emit("message", ["room": "after", "text": "we are back"])["seq"])
        XCTAssertEqual(try carol.waitForEvent("message", timeout: 5).argument["text"], "we are back")
        return (followed, bob, carol)
    }
}
