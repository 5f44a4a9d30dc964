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
            ])
        )
    }

    func testBoolsAndNumbersStayDistinct() throws {
        let value = try JSONValue.parse("[1, true, 0, false, 1.0]")
        XCTAssertEqual(value, .array([.number(1), .bool(true), .number(0), .bool(false), .number(1)]))
        XCTAssertNil(value[0]?.boolValue)
        XCTAssertNil(value[1]?.doubleValue)
    }

    func testTopLevelScalarsAndWhitespace() throws {
        XCTAssertEqual(try JSONValue.parse(" \"hi\" "), .string("hi"))
        XCTAssertEqual(try JSONValue.parse("42"), .number(42))
        XCTAssertEqual(try JSONValue.parse("null"), .null)
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
