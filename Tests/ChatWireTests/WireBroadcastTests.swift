import ChatWire
import XCTest

final class WireBroadcastTests: XCTestCase {
    func testEveryKindRoundTripsWithItsTopic() throws {
        for kind in BroadcastKind.allCases {
            let broadcast = WireBroadcast(
                kind: kind,
                room: "lobby",
                seq: 12,
                gseq: 1 << 40 | 7,
                gateway: "gw-a",
                connectionID: 5,
                payload: Array(#"42["message",{}]"#.utf8)
            )
            let frames = broadcast.encoded()
            XCTAssertEqual(frames[0], Array("room/lobby/".utf8))
            XCTAssertEqual(frames[2], broadcast.payload, "the payload travels untouched")
            XCTAssertEqual(try WireBroadcast.decode(frames), broadcast)
        }
    }

    func testTopicOfOneRoomIsNotAPrefixOfAnother() {
        let short = WireFormat.topic(room: "ab")
        let long = WireFormat.topic(room: "abc")
        XCTAssertFalse(long.starts(with: short))
    }

    func testMalformedBroadcastsAreRefused() {
        let frames = WireBroadcast(kind: .message, room: "a", seq: 1, gateway: "", connectionID: 0, payload: [1])
            .encoded()
        XCTAssertThrowsError(try WireBroadcast.decode(Array(frames.prefix(2)))) {
            XCTAssertEqual($0 as? WireError, .wrongFrameCount(expected: 3, actual: 2))
        }
        XCTAssertThrowsError(try WireBroadcast.decode([Array("room/b/".utf8), frames[1], frames[2]])) {
            XCTAssertEqual($0 as? WireError, .topicMismatch)
        }
        XCTAssertThrowsError(try WireBroadcast.decode([frames[0], Array(frames[1].dropLast()), frames[2]]))
    }

    func testRoomOfTopic() {
        XCTAssertEqual(WireFormat.room(ofTopic: WireFormat.topic(room: "lobby-1")), "lobby-1")
        XCTAssertNil(WireFormat.room(ofTopic: Array("room//".utf8)))
        XCTAssertNil(WireFormat.room(ofTopic: Array("room/x".utf8)))
        XCTAssertNil(WireFormat.room(ofTopic: Array("other/x/".utf8)))
        XCTAssertNil(WireFormat.room(ofTopic: [UInt8]()))
    }
}
