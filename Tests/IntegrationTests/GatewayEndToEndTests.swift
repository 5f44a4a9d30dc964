import ChatTestSupport
import Foundation
import SocketIO
import XCTest

/// Starts the real `RoomBroker` and two real `Gateway` processes (on two ports, so each client's
/// gateway is known) and checks, through Socket.IO and HTTP clients, what users would see.
final class GatewayEndToEndTests: XCTestCase {
    var cluster: ChatCluster!
    /// The ports of gateway A and gateway B.
    var portA = 0
    var portB = 0

    override func setUpWithError() throws {
        // No session grace: these tests watch a closed socket's member leave at once (the grace and
        // the resume are tested in Tests/python/test_sessions.py).
        cluster = try ChatCluster(
            logPrefix: "e2e-" + name.filter { $0.isLetter || $0.isNumber },
            brokerArguments: ["--session-grace", "0"]
        )
        let ports = try cluster.addGateways(["gw-a", "gw-b"])
        portA = ports[0]
        portB = ports[1]
    }

    override func tearDown() {
        if let run = testRun, run.totalFailureCount > 0, let cluster {
            print("server logs:\n\(cluster.logTails)")
        }
        cluster?.stop()
        cluster = nil
    }

    // MARK: Helpers

    func client(_ port: Int, origin: String? = nil) throws -> SocketIOTestClient {
        try SocketIOTestClient(port: port, origin: origin)
    }

    /// Creates `room` through `client` and returns its password.
    func createRoom(
        _ room: String,
        via client: SocketIOTestClient,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> String {
        let ack = try client.emit("create", ["name": "owner", "room": .string(room)])
        XCTAssertEqual(ack["room"]?.stringValue, room, "create ack \(ack.jsonText)", file: file, line: line)
        return try XCTUnwrap(ack["password"]?.stringValue, "create ack \(ack.jsonText)", file: file, line: line)
    }

    /// Joins and returns the ack, failing the test on a refusal.
    @discardableResult
    func join(
        _ client: SocketIOTestClient,
        _ room: String,
        _ password: String,
        as name: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> JSONValue {
        let ack = try client.emit(
            "join",
            ["room": .string(room), "password": .string(password), "name": .string(name)]
        )
        XCTAssertNil(ack["error"], "join refused: \(ack.jsonText)", file: file, line: line)
        XCTAssertEqual(ack["room"]?.stringValue, room, file: file, line: line)
        return ack
    }

    /// Sends a message and returns its seq from the ack.
    @discardableResult
    func say(
        _ client: SocketIOTestClient,
        _ room: String,
        _ text: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> Int64 {
        let ack = try client.emit("message", ["room": .string(room), "text": .string(text)])
        return try XCTUnwrap(ack["seq"]?.int64Value, "message ack \(ack.jsonText)", file: file, line: line)
    }

    func messages(_ client: SocketIOTestClient) -> [SocketIOTestClient.Event] {
        client.events.filter { $0.name == "message" }
    }

    func texts(_ client: SocketIOTestClient) -> [String] {
        messages(client).compactMap { $0.argument["text"]?.stringValue }
    }

    /// Every event is a well-formed room event of `room` with gap-free increasing seqs, and no
    /// invalid frame arrived.
    func assertOnlyValidEvents(
        of client: SocketIOTestClient,
        in room: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertEqual(client.unexpectedFrames, [], "invalid frames arrived", file: file, line: line)
        for event in client.events {
            let argument = event.argument
            XCTAssertTrue(
                ["message", "joined", "left"].contains(event.name),
                "unexpected event \(event)",
                file: file,
                line: line
            )
            XCTAssertEqual(argument["room"]?.stringValue, room, "\(event)", file: file, line: line)
            XCTAssertNotNil(argument["seq"]?.int64Value, "\(event)", file: file, line: line)
            XCTAssertNotNil(argument["name"]?.stringValue, "\(event)", file: file, line: line)
            if event.name == "message" {
                // `via` marks a message posted over HTTP.
                XCTAssertEqual(
                    Set(argument.objectValue.map { Array($0.keys) } ?? []).subtracting(["via"]),
                    ["room", "seq", "name", "text", "ts"],
                    "\(event)",
                    file: file,
                    line: line
                )
                XCTAssertTrue(argument["via"] == nil || argument["via"] == "http", "\(event)", file: file, line: line)
            } else {
                XCTAssertEqual(
                    Set(argument.objectValue.map { Array($0.keys) } ?? []),
                    ["room", "seq", "name", "count"],
                    "\(event)",
                    file: file,
                    line: line
                )
            }
        }
        let seqs = client.events.compactMap { $0.argument["seq"]?.int64Value }
        XCTAssertEqual(
            seqs,
            seqs.first.map { Array($0..<($0 + Int64(seqs.count))) } ?? [],
            "seqs are gap-free and in order",
            file: file,
            line: line
        )
    }

    /// Records a failure and stops the test when `condition` is false (XCTest on Linux ignores
    /// `continueAfterFailure`, so a broken server would otherwise wait out every later step).
    func require(
        _ condition: Bool,
        _ message: @autoclosure () -> String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        guard condition else {
            XCTFail(message(), file: file, line: line)
            throw RequirementFailed()
        }
    }

    struct RequirementFailed: Error {}

    // MARK: Tests

    func testMembersOnTwoGatewaysSeeTheSameMessagesInTheSameOrder() throws {
        let alice = try client(portA)
        let bob = try client(portB)
        let password = try createRoom("lobby", via: alice)
        let aliceJoin = try join(alice, "lobby", password, as: "alice")
        XCTAssertEqual(aliceJoin["members"], ["alice"])
        let bobJoin = try join(bob, "lobby", password, as: "bob")
        XCTAssertEqual(bobJoin["members"], ["alice", "bob"])
        XCTAssertEqual(bobJoin["count"], 2)
        let joined = try alice.waitForEvent("joined")
        XCTAssertEqual(joined.argument["name"], "bob")
        XCTAssertEqual(joined.argument["seq"], bobJoin["seq"])

        // One message each way across the gateways.
        let helloSeq = try say(alice, "lobby", "hi bob")
        let atBob = try bob.waitForEvent("message")
        XCTAssertEqual(atBob.argument["text"], "hi bob")
        XCTAssertEqual(atBob.argument["name"], "alice")
        XCTAssertEqual(atBob.argument["seq"]?.int64Value, helloSeq)
        _ = try say(bob, "lobby", "hi alice")
        let atAlice = try alice.waitForEvent("message", matching: { $0["text"] == "hi alice" })
        XCTAssertEqual(atAlice.argument["name"], "bob")

        // Both send at once without waiting for their acks.
        var pending: [(client: SocketIOTestClient, ackID: UInt64, text: String)] = []
        for index in 0..<10 {
            for (sender, name) in [(alice, "alice"), (bob, "bob")] {
                let text = "\(name) \(index)"
                pending.append((sender, sender.emitAsync("message", ["room": "lobby", "text": .string(text)]), text))
            }
        }
        var ackedSeq: [String: Int64] = [:]
        for (sender, ackID, text) in pending {
            ackedSeq[text] = try XCTUnwrap(sender.waitForAck(ackID)["seq"]?.int64Value)
        }
        try require(alice.waitUntil { self.messages($0).count == 22 }, "alice saw \(texts(alice))")
        try require(bob.waitUntil { self.messages($0).count == 22 }, "bob saw \(texts(bob))")

        XCTAssertEqual(
            messages(alice).map(\.text),
            messages(bob).map(\.text),
            "the same events, byte for byte, in the same order"
        )
        let seen = messages(bob).dropFirst(2)
        for event in seen {
            let text = try XCTUnwrap(event.argument["text"]?.stringValue)
            XCTAssertEqual(
                event.argument["seq"]?.int64Value,
                ackedSeq[text],
                "the event carries the seq its sender's ack gave"
            )
            XCTAssertEqual(event.argument["name"]?.stringValue, String(text.prefix { $0 != " " }))
        }
        let seenTexts = seen.compactMap { $0.argument["text"]?.stringValue }
        XCTAssertEqual(
            seenTexts.filter { $0.hasPrefix("alice") },
            (0..<10).map { "alice \($0)" },
            "each sender's order is kept"
        )
        XCTAssertEqual(seenTexts.filter { $0.hasPrefix("bob") }, (0..<10).map { "bob \($0)" })
        assertOnlyValidEvents(of: alice, in: "lobby")
        assertOnlyValidEvents(of: bob, in: "lobby")
    }

    func testAMemberOfAnotherRoomReceivesNothing() throws {
        let alice = try client(portA)
        let bob = try client(portB)
        let carol = try client(portB)
        let dave = try client(portA)
        let lobby = try createRoom("lobby", via: alice)
        let lobby2 = try createRoom("lobby2", via: carol)  // shares a prefix with "lobby"
        try join(alice, "lobby", lobby, as: "alice")
        try join(bob, "lobby", lobby, as: "bob")
        try join(carol, "lobby2", lobby2, as: "carol")
        try join(dave, "lobby2", lobby2, as: "dave")

        for index in 0..<5 { try say(alice, "lobby", "secret \(index)") }
        try say(bob, "lobby", "secret from bob")
        try require(bob.waitUntil { self.messages($0).count == 6 }, "bob saw \(texts(bob))")
        // The broker publishes in order: once the marker arrives, anything leaked from lobby would have too.
        try say(carol, "lobby2", "marker")
        let markerAtDave = try dave.waitForEvent("message")
        let markerAtCarol = try carol.waitForEvent("message")
        XCTAssertEqual(markerAtDave.argument["text"], "marker")
        XCTAssertEqual(markerAtCarol.text, markerAtDave.text)
        try say(alice, "lobby", "after marker")
        let afterMarker = try bob.waitForEvent("message", matching: { $0["text"] == "after marker" })
        XCTAssertEqual(afterMarker.argument["name"], "alice")

        XCTAssertEqual(carol.events.map(\.name), ["joined", "message"], "carol: \(carol.events)")
        XCTAssertEqual(dave.events.map(\.name), ["message"], "dave: \(dave.events)")
        XCTAssertFalse(texts(alice).contains("marker"))
        XCTAssertFalse(texts(bob).contains("marker"))
        for member in [carol, dave] { assertOnlyValidEvents(of: member, in: "lobby2") }
        for member in [alice, bob] { assertOnlyValidEvents(of: member, in: "lobby") }
    }

    func testWrongPasswordIsRefusedAndTheClientIsNotInTheRoom() throws {
        let alice = try client(portA)
        let mallory = try client(portB)
        let password = try createRoom("vault", via: alice)
        try join(alice, "vault", password, as: "alice")

        let refused = try mallory.emit("join", ["room": "vault", "password": "not-the-password", "name": "mallory"])
        XCTAssertEqual(refused["code"], "wrong_password", refused.jsonText)
        XCTAssertFalse(refused["error"]?.stringValue?.isEmpty ?? true, refused.jsonText)
        XCTAssertNil(refused["members"])
        XCTAssertNil(refused["history"])
        let messageRefused = try mallory.emit("message", ["room": "vault", "text": "let me in"])
        XCTAssertEqual(messageRefused["code"], "not_member", messageRefused.jsonText)
        let leaveRefused = try mallory.emit("leave", ["room": "vault"])
        XCTAssertEqual(leaveRefused["code"], "not_member", leaveRefused.jsonText)
        let rooms = try XCTUnwrap(try alice.emit("rooms")["rooms"]?.arrayValue)
        XCTAssertEqual(rooms.first { $0["room"] == "vault" }?["members"], 1, "only alice is in the room")

        try say(alice, "vault", "still private")
        let still = try alice.waitForEvent("message")
        XCTAssertEqual(still.argument["text"], "still private")
        XCTAssertEqual(alice.events.map(\.name), ["message"], "no one joined")

        // With the right password the same client gets in and learns the history only from the ack.
        let admitted = try join(mallory, "vault", password, as: "mallory")
        XCTAssertEqual(admitted["members"], ["alice", "mallory"])
        XCTAssertEqual(admitted["history"]?[0]?["text"], "still private")
        let malloryJoined = try alice.waitForEvent("joined")
        XCTAssertEqual(malloryJoined.argument["name"], "mallory")
        try mallory.listen(for: 0.2)
        XCTAssertEqual(mallory.events, [], "nothing from before the join is delivered as an event")
        XCTAssertEqual(mallory.unexpectedFrames, [])
    }

    func testLeaveIsAckedAndAnnouncedAndSoIsAClosedSocket() throws {
        let alice = try client(portA)
        let bob = try client(portB)
        let carol = try client(portB)
        let password = try createRoom("party", via: alice)
        try join(alice, "party", password, as: "alice")
        try join(bob, "party", password, as: "bob")
        try join(carol, "party", password, as: "carol")
        let carolJoined = try alice.waitForEvent("joined", matching: { $0["name"] == "carol" })
        XCTAssertEqual(carolJoined.argument["count"], 3)
        _ = try bob.waitForEvent("joined", matching: { $0["name"] == "carol" })

        let leaveAck = try bob.emit("leave", ["room": "party"])
        XCTAssertEqual(leaveAck, ["room": "party"])
        for member in [alice, carol] {
            let left = try member.waitForEvent("left")
            XCTAssertEqual(left.argument["name"], "bob")
            XCTAssertEqual(left.argument["count"], 2)
        }
        let afterLeave = try bob.emit("message", ["room": "party", "text": "am I here?"])
        XCTAssertEqual(afterLeave["code"], "not_member", afterLeave.jsonText)

        carol.disconnect()  // no close frame, no leave: the tab just went away
        let carolLeft = try alice.waitForEvent("left", matching: { $0["name"] == "carol" })
        XCTAssertEqual(carolLeft.argument["count"], 1)

        try say(alice, "party", "anyone?")
        let anyone = try alice.waitForEvent("message")
        XCTAssertEqual(anyone.argument["text"], "anyone?")
        try bob.listen(for: 0.3)
        XCTAssertEqual(bob.events.map(\.name), ["joined"], "bob gets nothing after leaving: \(bob.events)")
        XCTAssertEqual(alice.events.map(\.name), ["joined", "joined", "left", "left", "message"])
        assertOnlyValidEvents(of: alice, in: "party")
        let rooms = try XCTUnwrap(try bob.emit("rooms")["rooms"]?.arrayValue)
        XCTAssertEqual(rooms.first { $0["room"] == "party" }?["members"], 1)
    }
}
