import SocketIO
import XCTest

/// A message as the encoder's tests give it to join acks.
struct Message: ClientVisibleMessage {
    var seq: UInt64
    var name: String
    var text: String
    var timestampMilliseconds: Int64
    var via: ServerEventEncoder.Via?
}

/// The acks' objects, the open packet and `/healthz`, byte for byte as PROTOCOL.md gives them.
extension ServerEventEncoderTests {

    func testAckObjectsAreTheDocumentedShapes() {
        XCTAssertEqual(
            String(decoding: ServerEventEncoder.createAck(room: "lobby", password: "p\"w"), as: UTF8.self),
            #"{"room":"lobby","password":"p\"w"}"#
        )
        XCTAssertEqual(String(decoding: ServerEventEncoder.seqAck(8), as: UTF8.self), #"{"seq":8}"#)
        XCTAssertEqual(
            String(decoding: ServerEventEncoder.leaveAck(room: "lobby"), as: UTF8.self),
            #"{"room":"lobby"}"#
        )
        XCTAssertEqual(
            String(decoding: ServerEventEncoder.health(brokerReachable: true), as: UTF8.self),
            #"{"status":"ok"}"#
        )
        XCTAssertEqual(
            String(decoding: ServerEventEncoder.health(brokerReachable: false), as: UTF8.self),
            #"{"status":"broker_unavailable"}"#
        )
        XCTAssertEqual(
            String(
                decoding: ServerEventEncoder.open(
                    sid: "abc",
                    pingIntervalMilliseconds: 20_000,
                    pingTimeoutMilliseconds: 10_000,
                    maxPayload: 32_768
                ),
                as: UTF8.self
            ),
            #"0{"sid":"abc","upgrades":[],"pingInterval":20000,"pingTimeout":10000,"maxPayload":32768}"#
        )
    }

    func testAJoinAckKeepsTheNewestMessagesThatFitOldestFirst() {
        let history = (1...5).map {
            Message(
                seq: UInt64($0),
                name: "ann",
                text: String(repeating: "x", count: 100),
                timestampMilliseconds: 7,
                via: nil
            )
        }
        func ack(budget: Int) -> [UInt8] {
            ServerEventEncoder.joinAck(
                room: "lobby",
                seq: 6,
                members: ["ann", "bob"],
                count: 2,
                history: history,
                complete: true,
                byteBudget: budget
            )
        }
        let full = ack(budget: 10_000)
        let cut = ack(budget: 600)
        let text = String(decoding: cut, as: UTF8.self)
        XCTAssertTrue(String(decoding: full, as: UTF8.self).hasSuffix(#""complete":true}"#))
        XCTAssertTrue(
            text.hasPrefix(
                #"{"room":"lobby","seq":6,"members":["ann","bob"],"count":2,"history":[{"room":"lobby","seq":"#
            ),
            text
        )
        XCTAssertFalse(text.contains(#""seq":1,"#), "the oldest messages are cut first")
        XCTAssertTrue(text.contains(#""seq":5,"#))
        XCTAssertTrue(text.hasSuffix(#""complete":false}"#), "a cut history is not complete")
        XCTAssertLessThanOrEqual(cut.count, 600)
    }
}
