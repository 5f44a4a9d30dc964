import XCTest

@testable import SocketIO

final class ServerEventEncoderTests: XCTestCase {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Strips the Engine.IO `4` and parses the Socket.IO packet that follows.
    private func packet(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> SocketIOPacket {
        let frame = text(bytes)
        XCTAssertEqual(frame.first, "4", "Engine.IO message prefix", file: file, line: line)
        return try SocketIOPacket.parse(frame.dropFirst())
    }

    func testMessageExactText() {
        let frame = ServerEventEncoder.message(
            room: "r1",
            seq: 7,
            name: "Ann",
            text: "hi",
            timestamp: 1_700_000_000_123
        )
        XCTAssertEqual(
            text(frame),
            #"42["message",{"room":"r1","seq":7,"name":"Ann","text":"hi","ts":1700000000123}]"#
        )
    }

    func testMessageWithHardTextReparses() throws {
        let hard = "say \"hi\"\\\n\ttab \u{1} \u{2028}\u{2029} 😀 é </script>"
        let frame = ServerEventEncoder.message(room: "r", seq: UInt64.max, name: "Zoë", text: hard, timestamp: -1)
        let parsed = try packet(frame)
        XCTAssertEqual(parsed.eventName, "message")
        XCTAssertNil(parsed.ackID)
        XCTAssertEqual(
            parsed.arguments,
            [["room": "r", "seq": .number(Double(UInt64.max)), "name": "Zoë", "text": .string(hard), "ts": -1]]
        )
        XCTAssertFalse(text(frame).contains("\u{2028}"))
        XCTAssertFalse(text(frame).contains("\n"))
    }

    func testJoinedAndLeft() throws {
        let joined = ServerEventEncoder.joined(room: "r", seq: 2, name: "Bo", count: 2)
        XCTAssertEqual(text(joined), #"42["joined",{"room":"r","seq":2,"name":"Bo","count":2}]"#)

        let left = try packet(ServerEventEncoder.left(room: "r", seq: 3, name: "B\"o", count: 0))
        XCTAssertEqual(left.eventName, "left")
        XCTAssertEqual(left.arguments, [["room": "r", "seq": 3, "name": "B\"o", "count": 0]])
    }

    func testMessagePostedOverHTTPIsMarked() {
        let frame = ServerEventEncoder.message(room: "r", seq: 4, name: "alice", text: "hi", timestamp: 9, via: .http)
        XCTAssertEqual(
            text(frame),
            #"42["message",{"room":"r","seq":4,"name":"alice","text":"hi","ts":9,"via":"http"}]"#
        )
    }

    func testAck() throws {
        let object = ServerEventEncoder.errorObject(code: "not_member", message: "Join the room first.")
        let frame = ServerEventEncoder.ack(id: 42, objectJSON: object)
        XCTAssertEqual(text(frame), #"4342[{"error":"Join the room first.","code":"not_member"}]"#)
        let parsed = try packet(frame)
        XCTAssertEqual(parsed.type, .ack)
        XCTAssertEqual(parsed.ackID, 42)
        XCTAssertEqual(parsed.arguments, [["error": "Join the room first.", "code": "not_member"]])
    }

    func testAckWithLargestIDAndBuiltObject() throws {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("history")
        writer.beginArray()
        ServerEventEncoder.writeMessageObject(&writer, room: "r", seq: 1, name: "a", text: "x", timestamp: 5)
        ServerEventEncoder.writeMessageObject(&writer, room: "r", seq: 2, name: "b", text: "y", timestamp: 6)
        writer.endArray()
        writer.endObject()
        let parsed = try packet(ServerEventEncoder.ack(id: 9_999_999_999_999_999_999, objectJSON: writer.bytes))
        XCTAssertEqual(parsed.ackID, 9_999_999_999_999_999_999)
        XCTAssertEqual(
            parsed.arguments,
            [
                [
                    "history": [
                        ["room": "r", "seq": 1, "name": "a", "text": "x", "ts": 5],
                        ["room": "r", "seq": 2, "name": "b", "text": "y", "ts": 6],
                    ]
                ]
            ]
        )
    }

    func testErrorObjectEscapes() throws {
        let object = ServerEventEncoder.errorObject(code: "bad_request", message: "Field \"name\"\nis required.")
        XCTAssertEqual(
            try JSONValue.parse(object),
            ["error": "Field \"name\"\nis required.", "code": "bad_request"]
        )
    }

    func testConnectAck() throws {
        XCTAssertEqual(text(ServerEventEncoder.connectAck(sid: "abc123")), #"40{"sid":"abc123"}"#)
        XCTAssertEqual(
            try packet(ServerEventEncoder.connectAck(sid: "s")),
            SocketIOPacket(type: .connect, data: ["sid": "s"])
        )
    }

    func testConnectError() throws {
        let frame = ServerEventEncoder.connectError(namespace: "/admin", message: "Invalid namespace")
        XCTAssertEqual(text(frame), #"44/admin,{"message":"Invalid namespace"}"#)
        XCTAssertEqual(
            try packet(frame),
            SocketIOPacket(type: .connectError, namespace: "/admin", data: ["message": "Invalid namespace"])
        )
        XCTAssertEqual(
            text(ServerEventEncoder.connectError(namespace: "/", message: "no")),
            #"44{"message":"no"}"#
        )
    }
}
