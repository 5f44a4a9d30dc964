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

    func testHTTPPostReachesWebSocketMembersAsTheSameMessageEvent() throws {
        let alice = try client(portA)
        let bob = try client(portB)
        let password = try createRoom("news", via: alice)
        try join(alice, "news", password, as: "alice")
        try join(bob, "news", password, as: "bob")
        _ = try alice.waitForEvent("joined")

        let posted = try RawTestClient(port: portB).request(
            "POST",
            "/api/rooms/news/messages",
            headers: ["Authorization": "Bearer \(password)", "Content-Type": "application/json"],
            body: #"{"name":"build-bot","text":"deploy finished"}"#
        )
        XCTAssertEqual(posted.status, 202, posted.body)
        XCTAssertEqual(posted.headers["content-type"], "application/json")
        let seq = try XCTUnwrap(try JSONValue.parse(posted.body)["seq"]?.int64Value, posted.body)
        let atAlice = try alice.waitForEvent("message")
        let atBob = try bob.waitForEvent("message")
        XCTAssertEqual(atAlice.text, atBob.text, "the same bytes on both gateways")
        XCTAssertEqual(atAlice.argument["seq"]?.int64Value, seq)
        XCTAssertEqual(atAlice.argument["name"], "build-bot")
        XCTAssertEqual(atAlice.argument["text"], "deploy finished")
        XCTAssertEqual(atAlice.argument["room"], "news")
        XCTAssertEqual(atAlice.argument["via"], "http", "marked, so it cannot pass for a member's message")

        // A WebSocket message has the same shape, without the mark.
        try say(bob, "news", "thanks")
        let fromBob = try alice.waitForEvent("message", matching: { $0["text"] == "thanks" })
        XCTAssertNil(fromBob.argument["via"])
        XCTAssertEqual(
            fromBob.argument.objectValue.map { Set($0.keys).union(["via"]) },
            atAlice.argument.objectValue.map { Set($0.keys) }
        )

        let refusals: [(headers: [String: String], path: String, body: String, status: Int, code: String)] = [
            ([:], "/api/rooms/news/messages", #"{"name":"bot","text":"no password"}"#, 401, "wrong_password"),
            (
                ["Authorization": "Bearer wrong-password"], "/api/rooms/news/messages",
                #"{"name":"bot","text":"bad password"}"#, 401, "wrong_password"
            ),
            (
                ["Authorization": "Bearer \(password)"], "/api/rooms/nosuchroom/messages",
                #"{"name":"bot","text":"lost"}"#, 404, "no_such_room"
            ),
            (
                ["Authorization": "Bearer \(password)"], "/api/rooms/news/messages", #"{"name":"bot","text":"#, 400,
                "bad_request"
            ),
            (
                ["Authorization": "Bearer \(password)"], "/api/rooms/news/messages", #"{"name":"bot"}"#, 400,
                "bad_request"
            ),
            (
                ["Authorization": "Bearer \(password)"], "/api/rooms/news/messages", #"["bot","text"]"#, 400,
                "bad_request"
            ),
        ]
        for refusal in refusals {
            let response = try RawTestClient(port: portA).request(
                "POST",
                refusal.path,
                headers: refusal.headers.merging(["Content-Type": "application/json"]) { $1 },
                body: refusal.body
            )
            XCTAssertEqual(response.status, refusal.status, "\(refusal): \(response.body)")
            XCTAssertEqual(response.headers["content-type"], "application/json", "\(refusal)")
            let json = try JSONValue.parse(response.body)
            XCTAssertEqual(json["code"]?.stringValue, refusal.code, "\(refusal): \(response.body)")
            XCTAssertFalse(json["error"]?.stringValue?.isEmpty ?? true, "\(refusal): \(response.body)")
        }

        // None of the refused posts reached the room.
        try say(alice, "news", "after the refusals")
        try require(bob.waitUntil { self.texts($0).last == "after the refusals" }, "bob saw \(texts(bob))")
        XCTAssertEqual(texts(bob), ["deploy finished", "thanks", "after the refusals"])
        try require(alice.waitUntil { self.texts($0).last == "after the refusals" }, "alice saw \(texts(alice))")
        XCTAssertEqual(texts(alice), texts(bob))
        assertOnlyValidEvents(of: alice, in: "news")
        assertOnlyValidEvents(of: bob, in: "news")
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

    func testMalformedPacketsAreRefusedWhileOthersKeepChatting() throws {
        let alice = try client(portA)
        let bob = try client(portB)
        let mallory = try client(portA)  // same gateway and event loop as alice
        let password = try createRoom("sturdy", via: alice)
        try join(alice, "sturdy", password, as: "alice")
        let bobJoinSeq = try XCTUnwrap(try join(bob, "sturdy", password, as: "bob")["seq"]?.int64Value)
        try join(mallory, "sturdy", password, as: "mallory")
        var expectedTexts: [String] = []
        func stillChatting(_ step: String) throws {
            let text = "still here after \(step)"
            try say(alice, "sturdy", text)
            expectedTexts.append(text)
            let atBob = try bob.waitForEvent("message", matching: { $0["text"] == .string(text) })
            XCTAssertEqual(atBob.argument["name"], "alice")
        }

        // Malformed events with an ack id are answered with an error ack; the connection stays.
        let answered: [(packet: String, code: String)] = [
            (#"42101{"room":"sturdy","text":"not an array"}"#, "bad_request"),
            (#"42102["explode",{"room":"sturdy"}]"#, "unknown_event"),
            (#"42103["message",{"room":"sturdy","text":42}]"#, "bad_request"),
            (#"42104["message",["sturdy","array instead of object"]]"#, "bad_request"),
            (#"42105["join",{"room":7,"password":null,"name":["m"]}]"#, "bad_request"),
            (#"42106["message",{"room":"sturdy","text":"unterminated"#, "bad_request"),
            (#"42107[42,{"room":"sturdy","text":"number as event name"}]"#, "bad_request"),
            (#"42108["message"]"#, "bad_request"),
            (#"42109["message",{"room":"sturdy","text":"   "}]"#, "bad_request"),
        ]
        for (packet, code) in answered {
            mallory.sendRaw(packet)
            let ackID = try XCTUnwrap(UInt64(packet.dropFirst(2).prefix(3)))
            let ack = try mallory.waitForAck(ackID)
            XCTAssertEqual(ack["code"]?.stringValue, code, "\(packet) → \(ack.jsonText)")
            XCTAssertFalse(ack["error"]?.stringValue?.isEmpty ?? true, "\(packet) → \(ack.jsonText)")
        }
        try stillChatting("error acks")
        try say(mallory, "sturdy", "mallory behaves now")
        expectedTexts.append("mallory behaves now")

        // Malformed packets without an ack id, and binary ones, close the connection with a reason.
        let closing: [(packets: [String], binary: Bool, code: UInt16?, reason: String)] = [
            (["4hello"], false, nil, "invalid Socket.IO packet"),
            (["hello"], false, 1002, "invalid Engine.IO packet"),
            ([#"42{"room":"sturdy","text":"not an array"}"#], false, nil, "invalid Socket.IO packet"),
            (
                [#"451-["message",{"_placeholder":true,"num":0}]"#], false, nil,
                "Binary Socket.IO packets are not supported"
            ),
            ([#"4611-[{"_placeholder":true,"num":0}]"#], false, nil, "Binary Socket.IO packets are not supported"),
            (
                ["41", #"42["message",{"room":"sturdy","text":"after namespace disconnect"}]"#], false, nil,
                "send 40 first"
            ),
            ([], true, 1003, "binary frames are not supported"),
        ]
        for (index, step) in closing.enumerated() {
            let vandal = try client(index.isMultiple(of: 2) ? portA : portB)
            try join(vandal, "sturdy", password, as: "vandal\(index)")
            for packet in step.packets { vandal.sendRaw(packet) }
            if step.binary { vandal.sendBinary([0x34, 0x32, 0x5B, 0x5D]) }
            let close = try XCTUnwrap(
                try vandal.waitForClose(timeout: 3),
                "\(step): no close frame; events \(vandal.events)"
            )
            XCTAssertTrue(vandal.isClosed, "\(step)")
            XCTAssertNotNil(close.code, "\(step)")
            if let code = step.code { XCTAssertEqual(close.code, code, "\(step): \(close)") }
            XCTAssertTrue(close.reason.contains(step.reason), "\(step): \(close)")
            let vandalLeft = try alice.waitForEvent("left", matching: { $0["name"] == .string("vandal\(index)") })
            XCTAssertEqual(vandalLeft.argument["room"], "sturdy")
            try stillChatting("close \(index)")
        }

        try say(bob, "sturdy", "bob's last word")
        expectedTexts.append("bob's last word")
        for member in [alice, bob, mallory] {
            try require(member.waitUntil { self.texts($0).last == "bob's last word" }, "\(texts(member))")
        }
        XCTAssertEqual(Set(texts(bob)), Set(expectedTexts), "exactly the valid messages arrived")
        XCTAssertEqual(texts(bob).count, expectedTexts.count)
        for member in [alice, bob, mallory] { assertOnlyValidEvents(of: member, in: "sturdy") }
        let sharedByAlice = alice.events.filter { ($0.argument["seq"]?.int64Value ?? 0) > bobJoinSeq }.map(\.text)
        XCTAssertEqual(sharedByAlice, bob.events.map(\.text), "alice and bob saw the same events in the same order")
    }

    func testForeignOriginAndPollingAreRefused() throws {
        let foreign = try RawTestClient(port: portA).upgrade(host: "127.0.0.1:\(portA)", origin: "http://evil.example")
        XCTAssertEqual(foreign.status, 403)
        XCTAssertEqual(foreign.headers["content-type"], "application/json")
        XCTAssertEqual(try JSONValue.parse(foreign.body)["code"], "origin_not_allowed", foreign.body)
        XCTAssertThrowsError(try client(portB, origin: "http://evil.example")) { error in
            guard case SocketIOTestClient.Failure.handshakeRefused(let status, _) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(status, 403)
        }
        // The gateway's own origin and clients without an Origin header get in.
        let sameOrigin = try client(portB, origin: "http://127.0.0.1:\(portB)")
        let sameOriginRooms = try sameOrigin.emit("rooms")
        XCTAssertNotNil(sameOriginRooms["rooms"]?.arrayValue, sameOriginRooms.jsonText)
        let noOriginRooms = try client(portA).emit("rooms")
        XCTAssertNotNil(noOriginRooms["rooms"]?.arrayValue, noOriginRooms.jsonText)

        for port in [portA, portB] {
            let polling = try RawTestClient(port: port).request("GET", "/socket.io/?EIO=4&transport=polling&t=Nx1")
            XCTAssertEqual(polling.status, 400)
            XCTAssertEqual(polling.headers["content-type"], "application/json")
            XCTAssertEqual(
                polling.body,
                #"{"error":"Only the WebSocket transport is supported: set transports: ['websocket'] in your client.","code":"websocket_only"}"#
            )
        }
        XCTAssertTrue(
            cluster.gateways[0].waitForOutput(containing: "origin=http://evil.example", timeout: 3),
            "the refusal is logged"
        )
    }

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

    func testMetricsCountConnectionsDeliveriesAndRefusals() throws {
        let alice = try client(portA)
        let bob = try client(portA)
        let password = try createRoom("counted", via: alice)
        try join(alice, "counted", password, as: "alice")
        try join(bob, "counted", password, as: "bob")
        try say(alice, "counted", "one")
        _ = try bob.waitForEvent("message")
        let refused = try bob.emit("join", ["room": "counted", "password": "wrong", "name": "eve"])
        XCTAssertEqual(refused["code"], "bad_request", "bob is already in the room: \(refused.jsonText)")
        let metrics = try RawTestClient(port: portA).request("GET", "/metrics")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
        func value(_ name: String) -> Double? {
            metrics.body.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap {
                Double($0.split(separator: " ").last ?? "")
            }
        }
        XCTAssertGreaterThanOrEqual(value("chat_gateway_connections_total") ?? 0, 2, metrics.body)
        XCTAssertGreaterThanOrEqual(value("chat_gateway_open_connections") ?? 0, 2, metrics.body)
        XCTAssertGreaterThanOrEqual(
            value("chat_gateway_deliveries_total") ?? 0,
            3,
            "bob's joined + the message to both: \(metrics.body)"
        )
        XCTAssertTrue(metrics.body.contains(#"chat_gateway_refusals_total{code="bad_request"} 1"#), metrics.body)
    }
}
