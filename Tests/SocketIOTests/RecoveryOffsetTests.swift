import XCTest

@testable import SocketIO

final class RecoveryOffsetTests: XCTestCase {
    func testReadsAndWritesInstanceDotGseq() {
        XCTAssertEqual(RecoveryOffset(text: "k3x9.41"), RecoveryOffset(instance: "k3x9", gseq: 41))
        XCTAssertEqual(RecoveryOffset(instance: "a-b_C", gseq: UInt64.max).text, "a-b_C.18446744073709551615")
        XCTAssertEqual(RecoveryOffset(text: "a.b.7")?.instance, nil, "the instance holds no dot")
        for bad in [
            "", ".4", "k3x9.", "k3x9", "k3x9.-1", "k3x9.+1", "k3x9.18446744073709551616", "k 3.1", "é.1", "k3x9.1 ",
            String(repeating: "a", count: 65) + ".1", "MzUPkW0", "k." + String(repeating: "0", count: 30_000) + "1",
        ] {
            XCTAssertNil(RecoveryOffset(text: bad), bad)
        }
    }

    func testTheOffsetIsTheLastArgumentOfAnEvent() throws {
        let frame = ServerEventEncoder.message(room: "r", seq: 7, name: "Ann", text: "hi", timestamp: 1)
        let with = ServerEventEncoder.appendingOffset(RecoveryOffset(instance: "k3x9", gseq: 41), to: frame)
        XCTAssertEqual(
            String(decoding: with, as: UTF8.self),
            #"42["message",{"room":"r","seq":7,"name":"Ann","text":"hi","ts":1},"k3x9.41"]"#
        )
        let packet = try SocketIOPacket.parse(String(decoding: with.dropFirst(), as: UTF8.self)[...])
        XCTAssertEqual(packet.arguments.last, "k3x9.41")
        XCTAssertEqual(
            ServerEventEncoder.appendingOffset(RecoveryOffset(instance: "k", gseq: 1), to: []),
            [],
            "not an event: unchanged"
        )
    }

    func testTheConnectAnswerCarriesThePidOnlyWithRecovery() {
        XCTAssertEqual(String(decoding: ServerEventEncoder.connectAck(sid: "s1"), as: UTF8.self), #"40{"sid":"s1"}"#)
        XCTAssertEqual(
            String(decoding: ServerEventEncoder.connectAck(sid: "s1", pid: "p2"), as: UTF8.self),
            #"40{"sid":"s1","pid":"p2"}"#
        )
    }
}
