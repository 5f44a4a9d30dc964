import XCTest

@testable import SocketIO

/// Each cap of `JSONParserLimits.client` exactly at and one over its limit.
extension JSONParserTests {
    // MARK: Caps of JSONParserLimits.client, at and one over each

    func testClientLimitsAreThoseOfTheProtocol() {
        XCTAssertEqual(client, JSONParserLimits(maxDepth: 8, maxValues: 64, maxStringBytes: 32768, maxNumberLength: 32))
    }

    func testDepthCap() throws {
        XCTAssertNoThrow(try parse(nestedArrays(8)))
        assertRejects(nestedArrays(9), .tooDeep(limit: 8), code: "json_too_deep")
        let objects8 = String(repeating: #"{"a":"#, count: 8) + "1" + String(repeating: "}", count: 8)
        XCTAssertNoThrow(try parse(objects8))
        let objects9 = String(repeating: #"{"a":"#, count: 9) + "1" + String(repeating: "}", count: 9)
        assertRejects(objects9, .tooDeep(limit: 8), code: "json_too_deep")
        let mixed8 = String(repeating: #"[{"a":"#, count: 4) + "1" + String(repeating: "}]", count: 4)
        XCTAssertNoThrow(try parse(mixed8))
        assertRejects("[" + mixed8 + "]", .tooDeep(limit: 8), code: "json_too_deep")
        // Scalars add no depth; brackets inside strings are not nesting.
        XCTAssertNoThrow(try parse("[[[[[[[[\"[[[[{{{{\"]]]]]]]]"))
    }

    func testValueCapCountsScalarsArraysAndObjectsButNotKeys() throws {
        XCTAssertEqual(try parse(arrayOfValues(64)).arrayValue?.count, 63)
        assertRejects(arrayOfValues(65), .tooManyValues(limit: 64), code: "json_too_many_values")
        // An object with 63 members is 64 values: its keys do not count.
        let members63 = "{" + (1...63).map { "\"k\($0)\":null" }.joined(separator: ",") + "}"
        XCTAssertEqual(try parse(members63).objectValue?.count, 63)
        let members64 = "{" + (1...64).map { "\"k\($0)\":null" }.joined(separator: ",") + "}"
        assertRejects(members64, .tooManyValues(limit: 64), code: "json_too_many_values")
        // Empty containers count one each.
        XCTAssertNoThrow(try parse("[" + Array(repeating: "[]", count: 63).joined(separator: ",") + "]"))
        assertRejects(
            "[" + Array(repeating: "{}", count: 64).joined(separator: ",") + "]",
            code: "json_too_many_values"
        )
    }

    func testStringCapInBytesAsWritten() throws {
        let max = client.maxStringBytes
        XCTAssertEqual(try parse("\"" + String(repeating: "a", count: max) + "\"").stringValue?.utf8.count, max)
        assertRejects(
            "\"" + String(repeating: "a", count: max + 1) + "\"",
            .stringTooLong(limit: max),
            code: "json_string_too_long"
        )
        // Escapes count as written: 6 bytes for \u00e9, 2 for \n.
        XCTAssertEqual(try parse("\"" + String(repeating: #"\n"#, count: max / 2) + "\"").stringValue?.count, max / 2)
        assertRejects("\"" + String(repeating: #"\n"#, count: max / 2) + "a\"", code: "json_string_too_long")
        XCTAssertNoThrow(try parse("\"" + String(repeating: #"\u00e9"#, count: max / 6) + "ab\""))
        assertRejects("\"" + String(repeating: #"\u00e9"#, count: max / 6) + "abc\"", code: "json_string_too_long")
        // Multi-byte characters count by their UTF-8 bytes.
        XCTAssertNoThrow(try parse("\"" + String(repeating: "😀", count: max / 4) + "\""))
        assertRejects("\"" + String(repeating: "😀", count: max / 4) + "a\"", code: "json_string_too_long")
        // Keys are strings too.
        XCTAssertNoThrow(try parse("{\"" + String(repeating: "k", count: max) + "\":1}"))
        assertRejects("{\"" + String(repeating: "k", count: max + 1) + "\":1}", code: "json_string_too_long")
    }

    func testNumberCapInCharacters() throws {
        let max = client.maxNumberLength
        XCTAssertNoThrow(try parse(String(repeating: "9", count: max)))
        assertRejects(String(repeating: "9", count: max + 1), .numberTooLong(limit: max), code: "json_number_too_long")
        XCTAssertNoThrow(try parse("-" + String(repeating: "1", count: max - 1)))
        assertRejects("-" + String(repeating: "1", count: max), code: "json_number_too_long")
        let fraction = "0." + String(repeating: "5", count: max - 2)
        XCTAssertEqual(try parse(fraction).doubleValue ?? 0, 0.5555555555, accuracy: 1e-9)
        assertRejects(fraction + "5", code: "json_number_too_long")
        let exponent = "1.5e-" + String(repeating: "0", count: max - 6) + "3"
        XCTAssertEqual(try parse("[\(exponent)]"), [0.0015])
        assertRejects("[\(exponent)0]", code: "json_number_too_long")
    }

    func testCapsFailFastBeforeTheEndOfAHugeText() {
        // Each text is cut off before its end, so any error but the cap's would be unexpectedEnd:
        // the parser stops at the cap, not at the end.
        assertRejects(
            "[" + String(repeating: "1,", count: 500_000),
            .tooManyValues(limit: 64),
            code: "json_too_many_values"
        )
        assertRejects(String(repeating: "[", count: 500_000), .tooDeep(limit: 8), code: "json_too_deep")
        assertRejects(String(repeating: #"{"a":"#, count: 100_000), .tooDeep(limit: 8), code: "json_too_deep")
        assertRejects(
            "[\"" + String(repeating: "a", count: 1_000_000),
            .stringTooLong(limit: 32768),
            code: "json_string_too_long"
        )
        assertRejects(
            "[" + String(repeating: "1", count: 1_000_000),
            .numberTooLong(limit: 32),
            code: "json_number_too_long"
        )
        assertRejects(
            "[0." + String(repeating: "1", count: 1_000_000),
            .numberTooLong(limit: 32),
            code: "json_number_too_long"
        )
    }

    func testOtherLimits() throws {
        let tiny = JSONParserLimits(maxDepth: 1, maxValues: 3, maxStringBytes: 2, maxNumberLength: 2)
        XCTAssertEqual(try parse(#"["ab",10]"#, limits: tiny), ["ab", 10])
        assertRejects("[[]]", .tooDeep(limit: 1), code: "json_too_deep", limits: tiny)
        assertRejects("[1,2,3]", .tooManyValues(limit: 3), code: "json_too_many_values", limits: tiny)
        assertRejects(#"["abc"]"#, .stringTooLong(limit: 2), code: "json_string_too_long", limits: tiny)
        assertRejects("[100]", .numberTooLong(limit: 2), code: "json_number_too_long", limits: tiny)
        let flat = JSONParserLimits(maxDepth: 0, maxValues: 1, maxStringBytes: 0, maxNumberLength: 1)
        XCTAssertEqual(try parse("7", limits: flat), 7)
        XCTAssertEqual(try parse(#""""#, limits: flat), "")
        assertRejects("[]", .tooDeep(limit: 0), code: "json_too_deep", limits: flat)
        // The trusted caps read a long server reply.
        let big = arrayOfValues(100_000)
        XCTAssertEqual(try parse(big, limits: .trusted).arrayValue?.count, 99_999)
    }
}
