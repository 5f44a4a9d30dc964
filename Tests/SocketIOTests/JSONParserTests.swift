import XCTest

@testable import SocketIO

/// The strict parser behind `JSONValue.parse`: RFC 8259 accept and reject cases, escapes, numbers,
/// and each cap of `JSONParserLimits.client` exactly at and one over its limit.
final class JSONParserTests: XCTestCase {
    let client = JSONParserLimits.client

    func parse(_ text: String, limits: JSONParserLimits = .client) throws -> JSONValue {
        try JSONValue.parse(text, limits: limits)
    }

    func parse(bytes: [UInt8], limits: JSONParserLimits = .client) throws -> JSONValue {
        try JSONValue.parse(bytes, limits: limits)
    }

    func assertRejects(
        _ text: String,
        _ expected: JSONParseError? = nil,
        code: String = "invalid_json",
        limits: JSONParserLimits = .client,
        line: UInt = #line
    ) {
        assertRejects(bytes: Array(text.utf8), expected, code: code, limits: limits, line: line)
    }

    func assertRejects(
        bytes: [UInt8],
        _ expected: JSONParseError? = nil,
        code: String = "invalid_json",
        limits: JSONParserLimits = .client,
        line: UInt = #line
    ) {
        let shown = String(decoding: bytes.prefix(60), as: UTF8.self).debugDescription
        XCTAssertThrowsError(try JSONValue.parse(bytes, limits: limits), shown, line: line) { error in
            guard let error = error as? JSONParseError else { return XCTFail("\(error)", line: line) }
            XCTAssertEqual(error.code, code, "\(shown): \(error)", line: line)
            if let expected { XCTAssertEqual(error, expected, shown, line: line) }
        }
    }

    /// `count` values: an array holding `count - 1` ones.
    func arrayOfValues(_ count: Int) -> String {
        "[" + Array(repeating: "1", count: count - 1).joined(separator: ",") + "]"
    }

    func nestedArrays(_ depth: Int) -> String {
        String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    }

    // MARK: Accepted (RFC 8259)

    func testEveryKindOfValue() throws {
        XCTAssertEqual(
            try parse(#"{"a":null,"b":true,"c":false,"d":-1.5e2,"e":"x","f":[1,"two",[]],"g":{}}"#),
            ["a": nil, "b": true, "c": false, "d": -150, "e": "x", "f": [1, "two", []], "g": [:]]
        )
    }

    func testTopLevelScalars() throws {
        XCTAssertEqual(try parse("null"), .null)
        XCTAssertEqual(try parse("true"), .bool(true))
        XCTAssertEqual(try parse("false"), .bool(false))
        XCTAssertEqual(try parse("0"), .number(0))
        XCTAssertEqual(try parse(#""""#), .string(""))
        XCTAssertEqual(try parse("[]"), .array([]))
        XCTAssertEqual(try parse("{}"), .object([:]))
    }

    func testTheFourWhiteSpaceCharactersAnywhereBetweenTokens() throws {
        let spaced = " \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ 1 , \t\"b\" \n] , \"c\" : { } \r\n} \n"
        XCTAssertEqual(try parse(spaced), ["a": [1, "b"], "c": [:]])
        XCTAssertEqual(try parse("[ ]"), [])
        XCTAssertEqual(try parse("{\n}"), [:])
    }

    func testDeeplyMixedStructure() throws {
        let value = try parse(#"[{"a":[{"b":[{"c":null}]}]}]"#)
        XCTAssertEqual(value[0]?["a"]?[0]?["b"]?[0]?["c"], .null)
    }

    func testKeysAreCaseSensitiveAndMayBeEmptyOrEscaped() throws {
        XCTAssertEqual(try parse(#"{"a":1,"A":2,"":3,"\u0061b":4}"#), ["a": 1, "A": 2, "": 3, "ab": 4])
    }

    // MARK: Numbers

    func testNumbersInEveryRFCForm() throws {
        let cases: [(String, Double)] = [
            ("0", 0), ("-0", 0), ("7", 7), ("-7", -7), ("10", 10), ("1234567890", 1_234_567_890),
            ("0.5", 0.5), ("-0.5", -0.5), ("1.25", 1.25), ("1e3", 1000), ("1E3", 1000), ("1e+3", 1000),
            ("1e-3", 0.001), ("-1.5E-2", -0.015), ("0e0", 0), ("0.0e-0", 0), ("2.5e00", 2.5),
            ("9007199254740992", 9_007_199_254_740_992), ("9007199254740993", 9_007_199_254_740_992),
            ("1234567890123456789", 1_234_567_890_123_456_768), ("-9223372036854775808", -9_223_372_036_854_775_808),
            ("1.7976931348623157e308", .greatestFiniteMagnitude), ("5e-324", .leastNonzeroMagnitude),
            ("1e-400", 0), ("0.1", 0.1), ("3.141592653589793", 3.141592653589793),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(try parse(text), .number(expected), text)
            XCTAssertEqual(try parse("[\(text)]"), [.number(expected)], text)
            XCTAssertEqual(try parse("{\"n\":\(text)}"), ["n": .number(expected)], text)
        }
        XCTAssertEqual(try parse("-0").doubleValue?.sign, .minus)
        XCTAssertEqual(try parse("[1,2.5,-3]"), [1, 2.5, -3])
    }

    func testMalformedNumbers() {
        for text in ["01", "-01", "00", "0123", "1.", "-", "-.5", "1.e3", "1e", "1e+", "1E-", "1ee3", "--1"] {
            assertRejects(text)
            assertRejects("[\(text)]")
        }
        assertRejects("01", .invalidNumber(offset: 0))
        assertRejects("[1, -x]", .invalidNumber(offset: 4))
        assertRejects("[1.]", .invalidNumber(offset: 1))
        assertRejects("1.", .unexpectedEnd)
        assertRejects("-", .unexpectedEnd)
        for text in ["+1", ".5", "NaN", "-NaN", "Infinity", "-Infinity", "inf", "0x10", "1_000", "١"] {
            assertRejects(text)
        }
        assertRejects("1.5.2", .trailingData(offset: 3))
    }

    func testNumbersBeyondDoubleAreRefused() {
        assertRejects("1e400", .numberOutOfRange(offset: 0))
        assertRejects("[-1.8e308]", .numberOutOfRange(offset: 1))
    }

    // MARK: Strings and escapes

    func testEveryShortEscape() throws {
        XCTAssertEqual(try parse(#""\" \\ \/ \b \f \n \r \t""#), .string("\" \\ / \u{8} \u{C} \n \r \t"))
        XCTAssertEqual(try parse(#""a\nb""#), "a\nb")
        XCTAssertEqual(try parse(#""\\\\""#), "\\\\")
    }

    func testUnicodeEscapes() throws {
        XCTAssertEqual(try parse(#""\u0041\u00e9\u00E9\u20AC\uffff""#), .string("Aéé€\u{FFFF}"))
        XCTAssertEqual(try parse(#""\u0000""#), .string("\u{0}"))
        XCTAssertEqual(try parse(#""\u001f\u007f\u2028\u2029""#), .string("\u{1F}\u{7F}\u{2028}\u{2029}"))
    }

    func testSurrogatePairs() throws {
        XCTAssertEqual(try parse(#""\ud83d\ude00""#), "😀")
        XCTAssertEqual(try parse(#""\uD83D\uDE00""#), "😀")
        XCTAssertEqual(try parse(#""\ud800\udc00""#), .string("\u{10000}"))
        XCTAssertEqual(try parse(#""\udbff\udfff""#), .string("\u{10FFFF}"))
        XCTAssertEqual(try parse(#""a\ud83d\ude00b\ud83d\ude00""#), "a😀b😀")
    }

    func testLoneSurrogatesAreRefused() {
        assertRejects(#""\ud800""#, .loneSurrogate(offset: 1))
        assertRejects(#""\udc00""#, .loneSurrogate(offset: 1))
        assertRejects(#""\udfff\ud800""#, .loneSurrogate(offset: 1))
        assertRejects(#""x\ud800y""#, .loneSurrogate(offset: 2))
        assertRejects(#""\ud800\n""#, .loneSurrogate(offset: 1))
        assertRejects(#""\ud800\u0041""#, .loneSurrogate(offset: 1))
        assertRejects(#""\ud800\ud800""#, .loneSurrogate(offset: 1))
        assertRejects(#""\ud800"#)
    }

    func testInvalidEscapes() {
        for escape in [#"\a"#, #"\x41"#, #"\U0041"#, #"\u12G4"#, #"\u-123"#, #"\'"#, #"\0"#, "\\ ", "\\\u{e9}"] {
            assertRejects("\"\(escape)\"")
        }
        assertRejects(#""ab\q""#, .invalidEscape(offset: 3))
        assertRejects(#""\u00zz""#, .invalidEscape(offset: 1))
        assertRejects(#""\u00"#, .unexpectedEnd)
        assertRejects(#""\"#, .unexpectedEnd)
    }

    func testRawUTF8IsKept() throws {
        XCTAssertEqual(try parse("\"é€😀 \u{2028} a\u{301}\""), .string("é€😀 \u{2028} a\u{301}"))
        XCTAssertEqual(try parse("{\"ключ\":\"значение\"}"), ["ключ": "значение"])
        XCTAssertEqual(try parse("\"\u{7F}\""), .string("\u{7F}"))  // DEL need not be escaped
    }

    func testRawControlCharactersInStringsAreRefused() {
        for byte in UInt8(0)..<0x20 {
            assertRejects(bytes: [ASCII.quote, UInt8(ascii: "a"), byte, ASCII.quote], .controlCharacter(offset: 2))
        }
        assertRejects("{\"a\tb\":1}", .controlCharacter(offset: 3))
    }

    func testInvalidUTF8IsRefused() {
        let bad: [[UInt8]] = [
            [0xFF], [0xFE], [0x80], [0xBF],  // not a lead byte
            [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xF0, 0x80, 0x80, 0x80],  // overlong
            [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],  // encoded surrogates
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80],  // above U+10FFFF
            [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98],  // cut short
            [0xC3, 0x41], [0xE2, 0x41, 0x82], [0xF0, 0x9F, 0x41, 0x80],  // continuation missing
        ]
        for sequence in bad {
            assertRejects(bytes: [ASCII.quote, UInt8(ascii: "a")] + sequence + [ASCII.quote], .invalidUTF8(offset: 2))
        }
        // The largest valid sequences of each length pass.
        XCTAssertEqual(
            try parse(bytes: [ASCII.quote, 0xDF, 0xBF, 0xEF, 0xBF, 0xBF, 0xF4, 0x8F, 0xBF, 0xBF, ASCII.quote]),
            .string("\u{7FF}\u{FFFF}\u{10FFFF}")
        )
        // Outside strings, any non-ASCII byte is a syntax error.
        assertRejects(bytes: [0xC3, 0xA9], .unexpectedByte(offset: 0))
    }

    func testUnterminatedStrings() {
        assertRejects(#"""#, .unexpectedEnd)
        assertRejects(#""abc"#, .unexpectedEnd)
        assertRejects(#"["abc]"#, .unexpectedEnd)
        assertRejects(#"{"a"#, .unexpectedEnd)
    }

    // MARK: Rejected structure

    func testTrailingCommasAreRefused() {
        assertRejects("[1,]", .unexpectedByte(offset: 3))
        assertRejects(#"{"a":1,}"#, .unexpectedByte(offset: 7))
        assertRejects("[,]", .unexpectedByte(offset: 1))
        assertRejects("[,1]")
        assertRejects("[1,,2]")
        assertRejects("{,}")
    }

    func testCommentsQuotesAndBareWordsAreRefused() {
        for text in [
            "[1] // c", "/* c */ 1", "[1 /* c */]", "# c\n1", "{'a':1}", "['a']", "{a:1}", "[undefined]",
            "True", "TRUE", "nul", "nulll", "tru", "fals", "[true false]", "{\"a\" 1}", "{\"a\"::1}", "{1:1}",
            "{\"a\":}", "{\"a\"}", "[1 2]", "[", "]", "{", "}", "[}", "{]", "\"a\" : 1",
        ] {
            assertRejects(text)
        }
        assertRejects("nul", .unexpectedEnd)
        assertRejects("nulx", .unexpectedByte(offset: 3))
    }

    func testExactlyOneValueAndNothingButWhiteSpaceAfterIt() {
        assertRejects("", .unexpectedEnd)
        assertRejects(" \n\t\r ", .unexpectedEnd)
        assertRejects("[1] x", .trailingData(offset: 4))
        assertRejects("1 2", .trailingData(offset: 2))
        assertRejects("{}{}", .trailingData(offset: 2))
        assertRejects("[1]]", .trailingData(offset: 3))
        assertRejects("null\u{0}", .trailingData(offset: 4))
    }

    func testOnlyTheFourJSONWhiteSpaceCharacters() {
        for space in ["\u{C}", "\u{B}", "\u{A0}", "\u{2028}", "\u{FEFF}", "\u{3000}"] {
            assertRejects("[1,\(space)2]")
            assertRejects("\(space)1")
        }
        assertRejects(bytes: [0xEF, 0xBB, 0xBF] + Array("1".utf8), .unexpectedByte(offset: 0))  // no byte order mark
    }

    func testDuplicateKeysAreRefused() {
        assertRejects(#"{"a":1,"a":2}"#, .duplicateKey(offset: 7), code: "json_duplicate_key")
        assertRejects(#"{"room":"a","text":"t","room":"b"}"#, code: "json_duplicate_key")
        // Keys are compared after unescaping.
        assertRejects(#"{"a":1,"\u0061":2}"#, code: "json_duplicate_key")
        XCTAssertNoThrow(try parse(#"[{"a":1},{"a":2}]"#))
    }
}
