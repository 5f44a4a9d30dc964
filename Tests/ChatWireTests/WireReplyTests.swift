import ChatWire
import XCTest

final class WireReplyTests: XCTestCase {
    func testSuccessAndFailureRoundTrip() throws {
        let replies = [
            WireReply(
                kind: .join,
                requestID: 9,
                connectionID: 77,
                result: .success(.init(room: "lobby", seq: 42, json: Array(#"{"room":"lobby"}"#.utf8)))
            ),
            WireReply(
                kind: .replay,
                requestID: 1,
                connectionID: 0,
                result: .success(
                    .init(room: "r", seq: 0, events: [.init(seq: 3, payload: [1, 2]), .init(seq: 4, payload: [])])
                )
            ),
            WireReply(
                kind: .join,
                requestID: 10,
                connectionID: 77,
                result: .failure(ChatError(.wrongPassword, "wrong password for room lobby"))
            ),
            WireReply(
                kind: .resume,
                requestID: 11,
                connectionID: 78,
                result: .success(
                    .init(
                        room: "k3x9",
                        events: [.init(seq: 9, gseq: 40, payload: [1]), .init(seq: 2, gseq: 41, payload: [2, 3])],
                        rooms: [.init(room: "a", seq: 10), .init(room: "b", seq: 3)]
                    )
                )
            ),
        ]
        for reply in replies {
            XCTAssertEqual(try WireReply.decode(reply.encoded()), reply)
        }
        for code in ChatErrorCode.allCases {
            let reply = WireReply(kind: .create, requestID: 1, connectionID: 1, result: .failure(ChatError(code, "m")))
            XCTAssertEqual(try WireReply.decode(reply.encoded()), reply)
        }
    }

    func testTruncatedRepliesAreRefused() {
        let frame = WireReply(
            kind: .resume,
            requestID: 1,
            connectionID: 0,
            result: .success(
                .init(
                    room: "r",
                    seq: 1,
                    events: [.init(seq: 3, gseq: 8, payload: [1, 2])],
                    rooms: [.init(room: "r", seq: 4)]
                )
            )
        ).encoded()
        for length in 0..<frame.count {
            XCTAssertThrowsError(try WireReply.decode(Array(frame.prefix(length))))
        }
    }

    func testUnknownErrorCodeIsRefused() {
        var frame = WireReply(
            kind: .create,
            requestID: 1,
            connectionID: 1,
            result: .failure(ChatError(.badRequest, "m"))
        ).encoded()
        frame[14] = 200
        XCTAssertThrowsError(try WireReply.decode(frame)) { XCTAssertEqual($0 as? WireError, .unknownErrorCode(200)) }
    }
}
