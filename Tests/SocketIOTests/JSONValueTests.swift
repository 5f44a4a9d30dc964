import Foundation
import XCTest

@testable import SocketIO

final class JSONValueTests: XCTestCase {
    func testParsesEveryKind() throws {
        let value = try JSONValue.parse(#"{"a":null,"b":true,"c":-1.5e2,"d":"x","e":[1,"two",false],"f":{}}"#)
        XCTAssertEqual(
            value,
            .object([
                "a": .null, "b": .bool(true), "c": .number(-150), "d": .string("x"),
                "e": .array([.number(1), .string("two"), .bool(false)]), "f": .object([:]),
            ]))
    }

    func testBoolsAndNumbersStayDistinct() throws {
        let value = try JSONValue.parse("[1, true, 0, false, 1.0]")
        XCTAssertEqual(value, .array([.number(1), .bool(true), .number(0), .bool(false), .number(1)]))
        XCTAssertNil(value[0]?.boolValue)
        XCTAssertNil(value[1]?.doubleValue)
    }

    func testDecodableInsideAnotherType() throws {
        struct Envelope: Decodable { var payload: JSONValue }
        let envelope = try JSONDecoder().decode(Envelope.self, from: Data(#"{"payload":[true,1]}"#.utf8))
        XCTAssertEqual(envelope.payload, [true, 1])
    }

    func testEncodableRoundTrip() throws {
        let value: JSONValue = ["k": [1.5, "s", nil, false]]
        let data = try JSONEncoder().encode(value)
        XCTAssertEqual(try JSONValue.parse(data), value)
    }

    func testTopLevelScalarsAndWhitespace() throws {
        XCTAssertEqual(try JSONValue.parse(" \"hi\" "), .string("hi"))
        XCTAssertEqual(try JSONValue.parse("42"), .number(42))
        XCTAssertEqual(try JSONValue.parse("null"), .null)
    }

    func testUnicodeEscapesAreDecoded() throws {
        XCTAssertEqual(try JSONValue.parse(#""\u00e9\ud83d\ude00\n\u2028""#), .string("é😀\n\u{2028}"))
    }

    func testRejectsInvalidJSON() {
        for bad in ["", "{", "{'a':1}", "tru", "NaN", "[1] x", "\"unterminated", "{\"a\" 1}", "01"] {
            XCTAssertThrowsError(try JSONValue.parse(bad), bad) { error in
                XCTAssertEqual((error as? JSONParseError)?.code, "invalid_json", bad)
            }
        }
    }

    func testNestingDepthLimit() throws {
        let limit = JSONValue.maxNestingDepth
        let deepest = String(repeating: #"{"a":["#, count: limit / 2) + "1" + String(repeating: "]}", count: limit / 2)
        XCTAssertNoThrow(try JSONValue.parse(deepest))
        for depth in [limit + 1, 100_000] {
            let tooDeep = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            XCTAssertThrowsError(try JSONValue.parse(tooDeep)) { error in
                XCTAssertEqual(error as? JSONParseError, .tooDeep)
            }
        }
        // Brackets inside strings (even after escaped quotes) do not count.
        let inString = "[\"\\\"" + String(repeating: "[{", count: 100) + "\"]"
        XCTAssertEqual(try JSONValue.parse(inString).arrayValue?.count, 1)
    }

    func testDeepNestingTakesLittleTime() throws {
        // Foundation's decoder is superlinear in depth: 400 levels of objects took 0.15 s.
        let limit = JSONValue.maxNestingDepth
        let nested = String(repeating: #"{"a":"#, count: limit) + "1" + String(repeating: "}", count: limit)
        let start = Date()
        for _ in 0..<100 { _ = try JSONValue.parse(nested) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    func testRejectsInvalidUTF8() {
        XCTAssertThrowsError(try JSONValue.parse([0x22, 0xFF, 0x22] as [UInt8]))
    }

    func testErrorMessageIsActionable() {
        do {
            _ = try JSONValue.parse("[1] x")
            XCTFail("expected an error")
        } catch {
            XCTAssertTrue(error.description.contains("not valid JSON"), error.description)
        }
    }

    func testAccessors() {
        let value: JSONValue = ["s": "x", "n": 3, "f": 2.5, "b": true, "a": [1], "o": ["k": nil]]
        XCTAssertEqual(value["s"]?.stringValue, "x")
        XCTAssertEqual(value["n"]?.int64Value, 3)
        XCTAssertNil(value["f"]?.int64Value)
        XCTAssertEqual(value["f"]?.doubleValue, 2.5)
        XCTAssertEqual(value["b"]?.boolValue, true)
        XCTAssertEqual(value["a"]?.arrayValue, [1])
        XCTAssertEqual(value["a"]?[0], 1)
        XCTAssertNil(value["a"]?[1])
        XCTAssertNil(value["a"]?[-1])
        XCTAssertEqual(value["o"]?["k"]?.isNull, true)
        XCTAssertEqual(value["o"]?.objectValue?.count, 1)
        XCTAssertNil(value["missing"])
        XCTAssertNil(value["s"]?["x"])
        XCTAssertNil(value["s"]?.doubleValue)
    }

    func testJSONTextIsSortedAndReparses() throws {
        let value: JSONValue = ["b": 1, "a": [true, nil, "q\""]]
        XCTAssertEqual(value.jsonText, #"{"a":[true,null,"q\""],"b":1}"#)
        XCTAssertEqual(try JSONValue.parse(value.jsonText), value)
    }
}
