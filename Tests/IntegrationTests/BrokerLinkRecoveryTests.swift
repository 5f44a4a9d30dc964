import ChatTestSupport
import Foundation
import SocketIO
import XCTest

/// What users see when the broker and a gateway lose each other for longer than the broker's
/// `--gateway-timeout` and then find each other again: through the real RoomBroker and Gateway
/// processes, stopped and continued with SIGSTOP/SIGCONT.
final class BrokerLinkRecoveryTests: XCTestCase {
    var cluster: ChatCluster!
    /// The ports of gateways gw-a and gw-b.
    var ports: [Int] = []
    var portA: Int { ports[0] }
    var portB: Int { ports[1] }

    override func setUpWithError() throws {
        // The broker gives a silent gateway up after 2 s instead of 5 (twice the heartbeat interval, so
        // that the gateway that keeps running is not dropped by a late heartbeat), and announces its
        // members as left at once (no session grace), which these tests wait for.
        cluster = try ChatCluster(
            logPrefix: "recovery-" + name.filter { $0.isLetter || $0.isNumber },
            brokerArguments: ["--gateway-timeout", "2", "--session-grace", "0"]
        )
        ports = try cluster.addGateways(["gw-a", "gw-b"])
    }

    override func tearDown() {
        guard let cluster else { return }
        // A test that failed half-way must not leave a stopped process behind.
        for process in [cluster.broker] + cluster.gateways where process.process.isRunning {
            kill(process.process.processIdentifier, SIGCONT)
        }
        if let run = testRun, run.totalFailureCount > 0 {
            print("server logs:\n\(cluster.logTails)")
        }
        cluster.stop()
        self.cluster = nil
    }

    /// Alice on gateway A and Bob on gateway B in room `room`; returns them and the password.
    func aliceAndBob(in room: String) throws -> (alice: SocketIOTestClient, bob: SocketIOTestClient, password: String) {
        let alice = try SocketIOTestClient(port: portA)
        let bob = try SocketIOTestClient(port: portB)
        let password = try XCTUnwrap(
            try alice.emit("create", ["name": "alice", "room": .string(room)])["password"]?.stringValue
        )
        for (client, name) in [(alice, "alice"), (bob, "bob")] {
            let ack = try client.emit(
                "join",
                ["room": .string(room), "password": .string(password), "name": .string(name)]
            )
            XCTAssertNil(ack["error"], "join refused: \(ack.jsonText)")
        }
        return (alice, bob, password)
    }

    /// The broker drops a gateway that was silent past `--gateway-timeout` (here: stopped, as in a
    /// long stall or a network partition). When the gateway comes back, the broker no longer knows it:
    /// its members must not linger as ghosts who see nothing and whose sends fail with `not_member`.
    /// They are disconnected with a reason, and reconnecting brings them back into the room.
    func testMembersOfAGatewayTheBrokerDroppedAreToldAndCanRejoin() throws {
        let (alice, bob, password) = try aliceAndBob(in: "stall")
        let gatewayA = cluster.gateways[0].process.processIdentifier
        XCTAssertEqual(kill(gatewayA, SIGSTOP), 0)
        // The broker gives gw-a up: Bob sees Alice leave.
        XCTAssertNoThrow(
            try bob.waitForEvent("left", timeout: 10, matching: { $0["name"] == "alice" }),
            "the broker never dropped gw-a"
        )
        XCTAssertEqual(kill(gatewayA, SIGCONT), 0)

        let close = try XCTUnwrap(
            try alice.waitForClose(timeout: 10),
            "alice was never told that the broker dropped her gateway"
        )
        XCTAssertTrue(close.reason.contains("lost contact"), "close reason: \(close.reason)")

        // Alice reconnects through the same gateway and rejoins under her name; the room works again.
        let again = try SocketIOTestClient(port: portA)
        let ack = try again.emit("join", ["room": "stall", "password": .string(password), "name": "alice"])
        XCTAssertNil(ack["error"], "rejoin refused: \(ack.jsonText)")
        XCTAssertNotNil(try again.emit("message", ["room": "stall", "text": "back again"])["seq"])
        XCTAssertEqual(try bob.waitForEvent("message", timeout: 5)["text"], "back again")
    }

    /// The broker itself stalls for longer than `--gateway-timeout`. Whether it then counts the
    /// gateways as silent is its call; what users see must be one of two things for each member: still
    /// a working member, or disconnected with a reason and able to rejoin. Never a silent ghost.
    func testAfterABrokerStallMembersStillChatOrAreToldToRejoin() throws {
        let (alice, bob, password) = try aliceAndBob(in: "frozen")
        let broker = cluster.broker.process.processIdentifier
        XCTAssertEqual(kill(broker, SIGSTOP), 0)
        Thread.sleep(forTimeInterval: 4)
        XCTAssertEqual(kill(broker, SIGCONT), 0)
        // Give the gateways a few heartbeats to learn where they stand.
        Thread.sleep(forTimeInterval: 2)

        /// `client` if it is still connected, else a new connection of `name` that joined again.
        func member(_ client: SocketIOTestClient, _ name: String, port: Int) throws -> SocketIOTestClient {
            guard let close = try client.waitForClose(timeout: 0.5) else { return client }
            XCTAssertTrue(close.reason.contains("join"), "\(name)'s close reason: \(close.reason)")
            let again = try SocketIOTestClient(port: port)
            let ack = try again.emit("join", ["room": "frozen", "password": .string(password), "name": .string(name)])
            XCTAssertNil(ack["error"], "\(name)'s rejoin refused: \(ack.jsonText)")
            return again
        }
        let sender = try member(alice, "alice", port: portA)
        let receiver = try member(bob, "bob", port: portB)
        let ack = try sender.emit("message", ["room": "frozen", "text": "still here"])
        XCTAssertNotNil(ack["seq"], "alice is a ghost: \(ack.jsonText)")
        XCTAssertEqual(
            try receiver.waitForEvent("message", timeout: 5, matching: { $0["text"] == "still here" })["text"],
            "still here"
        )
    }
}

extension SocketIOTestClient.Event {
    fileprivate subscript(key: String) -> JSONValue? { argument[key] }
}
