import ChatTestSupport
import Foundation
import SocketIO
import XCTest

/// What an operator sees and relies on: the log lines, pings, a broker restart.
extension GatewayEndToEndTests {
    func testLogsShowEveryEventButNeverThePassword() throws {
        let alice = try client(portA)
        let bob = try client(portB)
        let password = try createRoom("logbook", via: alice)
        try join(alice, "logbook", password, as: "alice")
        let refused = try bob.emit("join", ["room": "logbook", "password": "guessed-wrong", "name": "bob"])
        XCTAssertEqual(refused["code"], "wrong_password", refused.jsonText)
        try join(bob, "logbook", password, as: "bob")
        try say(alice, "logbook", "hello log")
        let left = try bob.emit("leave", ["room": "logbook"])
        XCTAssertEqual(left, ["room": "logbook"])
        alice.disconnect()
        let posted = try RawTestClient(port: portB).request(
            "POST",
            "/api/rooms/logbook/messages",
            headers: ["Authorization": "Bearer \(password)", "Content-Type": "application/json"],
            body: #"{"name":"bot","text":"via http"}"#
        )
        XCTAssertEqual(posted.status, 202)

        let broker = cluster.broker
        let expected: [(event: String, fields: [String])] = [
            ("create", ["room=logbook", "name=owner"]),
            ("join", ["room=logbook", "name=alice", "gateway=gw-a"]),
            ("join-refused", ["room=logbook", "name=bob", "reason=wrong_password", "gateway=gw-b"]),
            ("join", ["room=logbook", "name=bob", "gateway=gw-b"]),
            ("message", ["room=logbook", "name=alice", "text=\"hello log\""]),
            ("leave", ["room=logbook", "name=bob"]),
            ("leave", ["room=logbook", "name=alice", "reason=disconnected"]),
            ("message", ["room=logbook", "name=bot", "reason=http"]),
        ]
        for (event, fields) in expected {
            XCTAssertTrue(
                waitForLogLine(in: broker, event: event, fields: fields),
                "broker log lacks \(event) \(fields):\n\(broker.output)"
            )
        }
        for (index, gateway) in cluster.gateways.enumerated() {
            XCTAssertTrue(
                waitForLogLine(in: gateway, event: "connect", fields: ["peer=127.0.0.1:"]),
                "gateway \(index) log lacks connect:\n\(gateway.output)"
            )
        }
        XCTAssertTrue(
            waitForLogLine(in: cluster.gateways[0], event: "disconnect", fields: []),
            cluster.gateways[0].output
        )
        for process in [broker] + cluster.gateways {
            XCTAssertFalse(process.output.contains(password), "a log shows the room password")
            XCTAssertFalse(process.output.contains("guessed-wrong"), "a log shows a tried password")
        }
    }

    func testAClientThatAnswersPingsStaysConnected() throws {
        let port = try cluster.addGateway("gw-fast-ping", arguments: ["--ping-interval", "1", "--ping-timeout", "1"])
        let answering = try client(port)
        let silent = try RawTestClient(port: port)
        XCTAssertEqual(try silent.upgrade().status, 101)
        XCTAssertTrue(try silent.readText().hasPrefix("0{"))
        silent.sendText("40")
        XCTAssertTrue(try silent.readText().hasPrefix("40{"))

        try answering.listen(for: 2.6)
        XCTAssertGreaterThanOrEqual(answering.pingsAnswered, 2)
        XCTAssertFalse(answering.isClosed, "closed: \(String(describing: answering.close))")
        let rooms = try answering.emit("rooms")
        XCTAssertNotNil(rooms["rooms"]?.arrayValue, "still served: \(rooms.jsonText)")

        XCTAssertEqual(try silent.readText(), "2")
        let close = try silent.readFrame()
        XCTAssertEqual(close.opcode, .connectionClose)
        XCTAssertEqual(String(decoding: close.payload.dropFirst(2), as: UTF8.self), "ping timeout")
        XCTAssertTrue(silent.waitForEOF(timeout: 2))
    }

    /// Waits up to 3 s for a log line whose event (the word after the label) is `event` and that
    /// contains every one of `fields`.
    func waitForLogLine(in process: ServerProcess, event: String, fields: [String]) -> Bool {
        let deadline = Date().addingTimeInterval(3)
        repeat {
            let found = process.output.split(separator: "\n").contains { line in
                let words = line.split(separator: " ")
                return words.count > 3 && words[3] == event && fields.allSatisfy { line.contains($0) }
            }
            if found { return true }
            Thread.sleep(forTimeInterval: 0.02)
        } while Date() < deadline
        return false
    }

    func testMembersAreToldWhenTheBrokerRestartsAndTheirRoomIsGone() throws {
        let alice = try client(portA)
        let password = try createRoom("fragile", via: alice)
        try join(alice, "fragile", password, as: "alice")
        try cluster.restartBroker()
        let close = try XCTUnwrap(try alice.waitForClose(timeout: 10), "alice was never told")
        XCTAssertTrue(close.reason.contains("restarted"), "close reason: \(close.reason)")
        // The gateway keeps serving: a new client can create a room on the new broker.
        let bob = try client(portA)
        XCTAssertEqual(try bob.emit("create", ["name": "bob", "room": "fresh"])["room"], "fresh")
    }
}
