import XCTest

@testable import SocketIO

final class SocketIOPacketTests: XCTestCase {
    private func parse(_ text: String) throws -> SocketIOPacket {
        try SocketIOPacket.parse(Substring(text))
    }

    private func assertRejects(_ text: String, _ code: String, line: UInt = #line) {
        XCTAssertThrowsError(try parse(text), text, line: line) { error in
            XCTAssertEqual((error as? SocketIOPacketError)?.code, code, text, line: line)
        }
    }

    // MARK: Accepted

    func testConnect() throws {
        XCTAssertEqual(try parse("0"), SocketIOPacket(type: .connect))
        XCTAssertEqual(try parse(#"0{"token":"t"}"#), SocketIOPacket(type: .connect, data: ["token": "t"]))
    }

    func testDisconnect() throws {
        XCTAssertEqual(try parse("1"), SocketIOPacket(type: .disconnect))
    }

    func testEventWithAndWithoutAckID() throws {
        let plain = try parse(#"2["message",{"room":"r","text":"hi"}]"#)
        XCTAssertEqual(plain.type, .event)
        XCTAssertEqual(plain.namespace, "/")
        XCTAssertNil(plain.ackID)
        XCTAssertEqual(plain.eventName, "message")
        XCTAssertEqual(plain.arguments, [["room": "r", "text": "hi"]])

        let acked = try parse(#"217["rooms"]"#)
        XCTAssertEqual(acked.ackID, 17)
        XCTAssertEqual(acked.eventName, "rooms")
        XCTAssertEqual(acked.arguments, [])
    }

    func testOtherNamespacesParse() throws {
        XCTAssertEqual(try parse("0/admin,"), SocketIOPacket(type: .connect, namespace: "/admin"))
        XCTAssertEqual(try parse("0/admin"), SocketIOPacket(type: .connect, namespace: "/admin"))
        XCTAssertEqual(
            try parse(#"2/chat,5["x",1]"#),
            SocketIOPacket(type: .event, namespace: "/chat", ackID: 5, data: ["x", 1]))
    }

    func testAckAndConnectError() throws {
        let ack = try parse(#"30[{"ok":true}]"#)
        XCTAssertEqual(ack, SocketIOPacket(type: .ack, ackID: 0, data: [["ok": true]]))
        XCTAssertEqual(ack.arguments, [["ok": true]])
        XCTAssertEqual(try parse(#"4"oops""#).data, "oops")
        XCTAssertEqual(try parse(#"4/x,{"message":"m"}"#).namespace, "/x")
    }

    func testLargestAckID() throws {
        XCTAssertEqual(try parse(#"29999999999999999999["e"]"#).ackID, 9_999_999_999_999_999_999)
        XCTAssertEqual(try parse(#"20000000000000000001["e"]"#).ackID, 1)
    }

    func testParsesFromASubstringInsideALargerString() throws {
        let frame = #"42["leave",{"room":"r"}]"#
        let packet = try SocketIOPacket.parse(frame.dropFirst())
        XCTAssertEqual(packet.eventName, "leave")
    }

    func testRoundTrips() throws {
        let packets = [
            SocketIOPacket(type: .connect),
            SocketIOPacket(type: .connect, namespace: "/n", data: ["sid": "abc"]),
            SocketIOPacket(type: .disconnect, namespace: "/n"),
            SocketIOPacket(type: .event, data: ["message", ["text": "a\"b\n\u{2028}😀", "n": 1.5]]),
            SocketIOPacket(type: .event, namespace: "/chat", ackID: 9_999_999_999_999_999_999, data: ["e"]),
            SocketIOPacket(type: .ack, ackID: 3, data: [["seq": 12]]),
            SocketIOPacket(type: .connectError, namespace: "/x", data: ["message": "Invalid namespace"]),
        ]
        for packet in packets {
            let text = packet.encoded()
            XCTAssertEqual(try parse(text), packet, text)
        }
    }

    func testEncodedText() {
        XCTAssertEqual(SocketIOPacket(type: .connect).encoded(), "0")
        XCTAssertEqual(SocketIOPacket(type: .event, ackID: 12, data: ["a", 1]).encoded(), #"212["a",1]"#)
        XCTAssertEqual(SocketIOPacket(type: .disconnect, namespace: "/n").encoded(), "1/n,")
        XCTAssertEqual(
            SocketIOPacket(type: .connectError, namespace: "/n", data: ["message": "m"]).encoded(),
            #"4/n,{"message":"m"}"#)
    }

    // MARK: Rejected

    func testRejectsEmpty() {
        assertRejects("", "empty_packet")
    }

    func testRejectsUnknownType() {
        assertRejects("7", "unknown_packet_type")
        assertRejects("9[\"e\"]", "unknown_packet_type")
        assertRejects("x", "unknown_packet_type")
        assertRejects("é", "unknown_packet_type")
    }

    func testRejectsBinaryPackets() {
        assertRejects(#"51-["upload",{"_placeholder":true,"num":0}]"#, "binary_not_supported")
        assertRejects(#"61-3[{"_placeholder":true,"num":0}]"#, "binary_not_supported")
    }

    func testRejectsAckIDsThatAreTooLong() {
        assertRejects(#"212345678901234567890["e"]"#, "invalid_ack_id")  // 20 digits
        assertRejects(#"218446744073709551616["e"]"#, "invalid_ack_id")  // UInt64.max + 1
        assertRejects(#"299999999999999999999999["e"]"#, "invalid_ack_id")
        assertRejects("3[]", "invalid_ack_id")  // an ack needs an id
    }

    func testRejectsBadJSON() {
        assertRejects(#"2["e""#, "invalid_json")
        assertRejects("2{", "invalid_json")
        assertRejects("0abc", "invalid_json")
        assertRejects(#"2 1["e"]"#, "invalid_json")
        assertRejects("2" + String(repeating: "[", count: 1000), "json_too_deep")
    }

    func testRejectsTrailingGarbage() {
        assertRejects(#"2["e"]x"#, "invalid_json")
        assertRejects(#"21["e"]]"#, "invalid_json")
        assertRejects(#"0{}{}"#, "invalid_json")
        assertRejects("1x", "invalid_json")
        assertRejects("1[]", "invalid_packet_data")  // a disconnect carries no data
    }

    func testRejectsEventsThatAreNotANamedArray() {
        assertRejects("2", "invalid_packet_data")
        assertRejects("21", "invalid_packet_data")
        assertRejects("2[]", "invalid_packet_data")
        assertRejects("2[1,2]", "invalid_packet_data")
        assertRejects("2[null]", "invalid_packet_data")
        assertRejects(#"2{"e":1}"#, "invalid_packet_data")
        assertRejects(#"2"e""#, "invalid_packet_data")
        assertRejects(#"2/chat["e"]"#, "invalid_packet_data")  // no comma: "/chat[\"e\"]" is the namespace
    }

    func testRejectsOtherWrongShapes() {
        assertRejects("0[]", "invalid_packet_data")
        assertRejects(#"0"s""#, "invalid_packet_data")
        assertRejects(#"31{}"#, "invalid_packet_data")
        assertRejects("31", "invalid_packet_data")
        assertRejects("4[]", "invalid_packet_data")
    }

    func testErrorDescriptionsAreActionable() {
        let errors: [SocketIOPacketError] = [
            .empty, .unknownType("x"), .binaryNotSupported, .invalidAckID,
            .invalidJSON(.invalidJSON), .invalidJSON(.tooDeep), .invalidData(type: .event, reason: "r."),
        ]
        XCTAssertEqual(Set(errors.map(\.code)).count, errors.count)
        for error in errors {
            XCTAssertFalse(error.description.isEmpty)
            XCTAssertTrue(error.code.allSatisfy { $0.isLowercase || $0 == "_" }, error.code)
        }
        XCTAssertTrue(SocketIOPacketError.binaryNotSupported.description.contains("Binary"))
    }
}
