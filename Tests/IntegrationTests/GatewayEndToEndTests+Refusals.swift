import ChatTestSupport
import Foundation
import SocketIO
import XCTest

/// Malformed packets, foreign origins and polling: refused while everyone else keeps chatting.
extension GatewayEndToEndTests {
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
}
