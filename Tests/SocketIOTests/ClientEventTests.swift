import XCTest

@testable import SocketIO

final class ClientEventTests: XCTestCase {
    private func assertBadRequest(
        _ name: String,
        _ arguments: [JSONValue],
        mentioning field: String,
        line: UInt = #line
    ) {
        XCTAssertThrowsError(try ClientEvent.decode(eventName: name, arguments: arguments), line: line) { error in
            guard let error = error as? ClientEventError else { return XCTFail("\(error)", line: line) }
            XCTAssertEqual(error.code, "bad_request", line: line)
            XCTAssertTrue(error.description.contains(field), error.description, line: line)
        }
    }

    func testDecodesEveryEvent() throws {
        XCTAssertEqual(
            try ClientEvent.decode(eventName: "create", arguments: [["name": "Ann", "room": "r1"]]),
            .create(name: "Ann", room: "r1", id: nil)
        )
        XCTAssertEqual(
            try ClientEvent.decode(eventName: "join", arguments: [["room": "r1", "password": "pw", "name": "Ann"]]),
            .join(room: "r1", password: "pw", name: "Ann")
        )
        XCTAssertEqual(
            try ClientEvent.decode(
                eventName: "join",
                arguments: [["room": "r1", "password": "pw", "name": "Ann", "since": 41]]
            ),
            .join(room: "r1", password: "pw", name: "Ann", since: 41)
        )
        XCTAssertEqual(
            try ClientEvent.decode(
                eventName: "join",
                arguments: [["room": "r1", "password": "pw", "name": "Ann", "since": nil]]
            ),
            .join(room: "r1", password: "pw", name: "Ann", since: nil)
        )
        XCTAssertEqual(
            try ClientEvent.decode(
                eventName: "join",
                arguments: [["room": "r1", "password": "pw", "name": "Ann", "since": 9_007_199_254_740_992]]
            ),
            .join(room: "r1", password: "pw", name: "Ann", since: 1 << 53)
        )
        XCTAssertEqual(
            try ClientEvent.decode(
                eventName: "join",
                arguments: [["room": "r1", "password": "pw", "name": "Ann", "token": "0123abcd"]]
            ),
            .join(room: "r1", password: "pw", name: "Ann", token: "0123abcd")
        )
        XCTAssertThrowsError(
            try ClientEvent.decode(
                eventName: "join",
                arguments: [["room": "r1", "password": "pw", "name": "A", "token": 7]]
            )
        )
        XCTAssertEqual(
            try ClientEvent.decode(eventName: "history", arguments: [["room": "r1", "before": 41]]),
            .history(room: "r1", before: 41)
        )
        for before: JSONValue in [0, -1, 1.5, "3", .null] {
            XCTAssertThrowsError(
                try ClientEvent.decode(eventName: "history", arguments: [["room": "r1", "before": before]]),
                "\(before)"
            )
        }
        XCTAssertEqual(try ClientEvent.decode(eventName: "leave", arguments: [["room": "r1"]]), .leave(room: "r1"))
        XCTAssertEqual(
            try ClientEvent.decode(eventName: "message", arguments: [["room": "r1", "text": "hi"]]),
            .message(room: "r1", text: "hi", id: nil)
        )
        XCTAssertEqual(try ClientEvent.decode(eventName: "rooms", arguments: []), .listRooms(after: nil, limit: nil))
        XCTAssertEqual(try ClientEvent.decode(eventName: "rooms", arguments: [[:]]), .listRooms(after: nil, limit: nil))
        XCTAssertEqual(try ClientEvent.decode(eventName: "rooms", arguments: [nil]), .listRooms(after: nil, limit: nil))
        XCTAssertEqual(
            try ClientEvent.decode(eventName: "rooms", arguments: [["after": "lobby", "limit": 50]]),
            .listRooms(after: "lobby", limit: 50)
        )
        XCTAssertThrowsError(try ClientEvent.decode(eventName: "rooms", arguments: [["limit": 1.5]]))
    }

    func testCreateRoomIsOptional() throws {
        for room: JSONValue? in [nil, .null, ""] {
            var fields: [String: JSONValue] = ["name": "Ann"]
            fields["room"] = room
            XCTAssertEqual(
                try ClientEvent.decode(eventName: "create", arguments: [.object(fields)]),
                .create(name: "Ann", room: nil, id: nil),
                "\(String(describing: room))"
            )
        }
    }

    func testExtraFieldsAreIgnored() throws {
        XCTAssertEqual(
            try ClientEvent.decode(eventName: "leave", arguments: [["room": "r", "extra": 1]]),
            .leave(room: "r")
        )
    }

    func testDoesNotCheckLimits() throws {
        // Lengths and alphabets are validated elsewhere.
        XCTAssertEqual(
            try ClientEvent.decode(eventName: "message", arguments: [["room": "", "text": " "]]),
            .message(room: "", text: " ", id: nil)
        )
    }

    func testIdempotencyKeyIsOptionalInCreateAndMessage() throws {
        XCTAssertEqual(
            try ClientEvent.decode(eventName: "create", arguments: [["name": "Ann", "id": "k-1"]]),
            .create(name: "Ann", room: nil, id: "k-1")
        )
        XCTAssertEqual(
            try ClientEvent.decode(eventName: "message", arguments: [["room": "r", "text": "t", "id": "a.b:c_d"]]),
            .message(room: "r", text: "t", id: "a.b:c_d")
        )
        XCTAssertEqual(
            try ClientEvent.decode(eventName: "message", arguments: [["room": "r", "text": "t", "id": nil]]),
            .message(room: "r", text: "t", id: nil)
        )
        // Only its shape is checked here: the key's limits are the session's.
        XCTAssertEqual(
            try ClientEvent.decode(eventName: "message", arguments: [["room": "r", "text": "t", "id": ""]]),
            .message(room: "r", text: "t", id: "")
        )
        assertBadRequest("message", [["room": "r", "text": "t", "id": 7]], mentioning: "\"id\"")
        assertBadRequest("create", [["name": "a", "id": ["k"]]], mentioning: "\"id\"")
    }

    func testAnEchoedEventNameIsCutByBytes() {
        let zalgo = "a" + String(repeating: "\u{301}", count: 10_000)
        XCTAssertThrowsError(try ClientEvent.decode(eventName: zalgo, arguments: [])) { error in
            XCTAssertLessThan("\(error)".utf8.count, 200, "one grapheme of 10 000 marks is not echoed whole")
        }
    }

    func testUnknownEvent() {
        XCTAssertThrowsError(try ClientEvent.decode(eventName: "dance", arguments: [])) { error in
            XCTAssertEqual(error as? ClientEventError, .unknownEvent("dance"))
            XCTAssertEqual((error as? ClientEventError)?.code, "unknown_event")
            XCTAssertTrue("\(error)".contains("dance"))
        }
        XCTAssertThrowsError(try ClientEvent.decode(eventName: "Create", arguments: [["name": "a"]]))
    }

    func testMissingFields() {
        assertBadRequest("create", [[:]], mentioning: "\"name\"")
        assertBadRequest("join", [["password": "p", "name": "n"]], mentioning: "\"room\"")
        assertBadRequest("join", [["room": "r", "name": "n"]], mentioning: "\"password\"")
        assertBadRequest("join", [["room": "r", "password": "p"]], mentioning: "\"name\"")
        assertBadRequest("leave", [[:]], mentioning: "\"room\"")
        assertBadRequest("message", [["room": "r"]], mentioning: "\"text\"")
        assertBadRequest("message", [["text": "t"]], mentioning: "\"room\"")
    }

    func testFieldsOfTheWrongType() {
        assertBadRequest("create", [["name": 1]], mentioning: "\"name\"")
        assertBadRequest("create", [["name": "a", "room": 5]], mentioning: "\"room\"")
        assertBadRequest("create", [["name": "a", "room": false]], mentioning: "\"room\"")
        assertBadRequest("join", [["room": "r", "password": nil, "name": "n"]], mentioning: "\"password\"")
        assertBadRequest("leave", [["room": ["r"]]], mentioning: "\"room\"")
        for since: JSONValue in [-1, 1.5, "3", 9_007_199_254_740_994, true] {
            assertBadRequest(
                "join",
                [["room": "r", "password": "p", "name": "n", "since": since]],
                mentioning: "\"since\""
            )
        }
        assertBadRequest("message", [["room": "r", "text": ["t": 1]]], mentioning: "\"text\"")
    }

    func testArgumentMustBeOneObject() {
        assertBadRequest("leave", [], mentioning: "one argument")
        assertBadRequest("leave", ["r"], mentioning: "not an object")
        assertBadRequest("leave", [["room": "r"], ["room": "s"]], mentioning: "2 argument")
        assertBadRequest("create", [nil], mentioning: "JSON object")
        assertBadRequest("rooms", ["all"], mentioning: "not an object")
        assertBadRequest("rooms", [[:], [:]], mentioning: "2 argument")
    }
}
