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
            SocketIOPacket(type: .event, namespace: "/chat", ackID: 5, data: ["x", 1])
        )
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
            #"4/n,{"message":"m"}"#
        )
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
        XCTAssertThrowsError(try parse("é2[\"e\"]")) { error in
            XCTAssertEqual(error as? SocketIOPacketError, .unknownType(0xC3))
        }
    }

    func testSlicesBytesNotCharacters() throws {
        // A combining mark after the type digit is a byte of the data, not part of the type.
        assertRejects("2\u{301}[\"e\"]", "invalid_json")
        // A namespace ends at the comma byte even when a combining mark follows it.
        let packet = try parse("0/n\u{301}x,")
        XCTAssertEqual(packet.namespace, "/n\u{301}x")
        assertRejects("2/n,\u{301}[\"e\"]", "invalid_json")
        XCTAssertEqual(try parse("2/é,3[\"e\"]").ackID, 3)
    }

    func testNamespaceLimits() throws {
        let longest = "/" + String(repeating: "n", count: SocketIOPacket.maxNamespaceBytes - 1)
        XCTAssertEqual(try parse("0\(longest),").namespace, longest)
        assertRejects("0\(longest)n,", "invalid_namespace")
        assertRejects("0/a\u{7}b,", "invalid_namespace")
        assertRejects("0/a\u{7F},", "invalid_namespace")
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
        assertRejects(#"2["e",1,]"#, "invalid_json")
        assertRejects(#"2["e",01]"#, "invalid_json")
        assertRejects("2[\"e\",\"a\u{1}\"]", "invalid_json")
    }

    func testClientCapsApplyByDefault() throws {
        let values = "2[\"x\"" + String(repeating: ",1", count: 62) + "]"  // 64 values
        XCTAssertEqual(try parse(values).arguments.count, 62)
        assertRejects("2[\"x\"" + String(repeating: ",1", count: 63) + "]", "json_too_many_values")
        assertRejects("2[\"x\"" + String(repeating: ",1", count: 100_000) + "]", "json_too_many_values")
        let deep = String(repeating: "[", count: 7) + "1" + String(repeating: "]", count: 7)
        XCTAssertNoThrow(try parse("2[\"x\",\(deep)]"))  // 8 deep
        assertRejects("2[\"x\",[\(deep)]]", "json_too_deep")
        assertRejects("2[\"x\",\"" + String(repeating: "a", count: 32769) + "\"]", "json_string_too_long")
        assertRejects("2[\"x\",1" + String(repeating: "0", count: 32) + "]", "json_number_too_long")
        // Wider caps for the server's own output, when asked for.
        let many = "31[" + Array(repeating: "1", count: 1000).joined(separator: ",") + "]"
        XCTAssertThrowsError(try SocketIOPacket.parse(Substring(many)))
        XCTAssertEqual(try SocketIOPacket.parse(Substring(many), limits: .trusted).arguments.count, 1000)
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
            .empty, .unknownType(UInt8(ascii: "x")), .binaryNotSupported, .invalidNamespace, .invalidAckID,
            .invalidJSON(.unexpectedEnd), .invalidJSON(.tooDeep(limit: 8)), .invalidData(type: .event, reason: "r."),
        ]
        XCTAssertEqual(Set(errors.map(\.code)).count, errors.count)
        for error in errors {
            XCTAssertFalse(error.description.isEmpty)
            XCTAssertTrue(error.code.allSatisfy { $0.isLowercase || $0 == "_" }, error.code)
        }
        XCTAssertTrue(SocketIOPacketError.binaryNotSupported.description.contains("Binary"))
        XCTAssertTrue(SocketIOPacketError.unknownType(UInt8(ascii: "x")).description.contains("\"x\""))
        XCTAssertTrue(SocketIOPacketError.unknownType(0xC3).description.contains("0xC3"))
    }
}
