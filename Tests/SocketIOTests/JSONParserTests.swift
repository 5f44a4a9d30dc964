import XCTest

@testable import SocketIO

/// The strict parser behind `JSONValue.parse`: RFC 8259 accept and reject cases, escapes, numbers,
/// and each cap of `JSONParserLimits.client` exactly at and one over its limit.
final class JSONParserTests: XCTestCase {
    private let client = JSONParserLimits.client

    private func parse(_ text: String, limits: JSONParserLimits = .client) throws -> JSONValue {
        try JSONValue.parse(text, limits: limits)
    }

    private func parse(bytes: [UInt8], limits: JSONParserLimits = .client) throws -> JSONValue {
        try JSONValue.parse(bytes, limits: limits)
    }

    private func assertRejects(
        _ text: String,
        _ expected: JSONParseError? = nil,
        code: String = "invalid_json",
        limits: JSONParserLimits = .client,
        line: UInt = #line
    ) {
        assertRejects(bytes: Array(text.utf8), expected, code: code, limits: limits, line: line)
    }

    private func assertRejects(
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
    private func arrayOfValues(_ count: Int) -> String {
        "[" + Array(repeating: "1", count: count - 1).joined(separator: ",") + "]"
    }

    private func nestedArrays(_ depth: Int) -> String {
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

    // MARK: Inputs

    func testAnyByteCollection() throws {
        let text = #"{"a":[1,"é"]}"#
        let expected: JSONValue = ["a": [1, "é"]]
        XCTAssertEqual(try JSONValue.parse(Array(text.utf8)), expected)
        XCTAssertEqual(try JSONValue.parse(Array(("xx" + text).utf8)[2...]), expected)
        XCTAssertEqual(try JSONValue.parse(("xx" + text).dropFirst(2)), expected)
        XCTAssertEqual(try JSONValue.parse(("xx" + text).utf8.dropFirst(2)), expected)
        // Not contiguous: read through a copy.
        XCTAssertEqual(try JSONValue.parse(text.utf8.lazy.map { $0 }), expected)
        XCTAssertThrowsError(try JSONValue.parse("[1,]".utf8.lazy.map { $0 }))
    }

    func testRoundTripThroughTheWriter() throws {
        let values: [JSONValue] = [
            ["text": "a\"b\\c\n\u{1}\u{2028}😀é", "n": -1.25, "big": 1e300, "list": [true, false, nil, [:], []]],
            ["room": "lobby", "seq": 9_007_199_254_740_991, "members": ["ann", "bob"]],
            .string(String(repeating: "\u{1}", count: 100)),
        ]
        for value in values {
            XCTAssertEqual(try parse(value.jsonText), value, value.jsonText)
        }
    }

    func testRandomValuesRoundTripAndMutationsStayWithinTheCaps() throws {
        var random = SplitMix(seed: 6)
        for _ in 0..<500 {
            var budget = 64
            let value = randomValue(depth: 0, budget: &budget, random: &random)
            let text = value.jsonText
            XCTAssertEqual(try parse(text), value, text)
            // Flip, drop or insert a byte: whatever parses must respect the caps and re-parse the same.
            var bytes = Array(text.utf8)
            let position = Int(random.next() % UInt64(bytes.count))
            switch random.next() % 3 {
            case 0: bytes[position] = UInt8(truncatingIfNeeded: random.next())
            case 1: bytes.remove(at: position)
            default: bytes.insert(Array(#"[]{}",:\"#.utf8)[Int(random.next() % 8)], at: position)
            }
            guard let mutated = try? parse(bytes: bytes) else { continue }
            XCTAssertLessThanOrEqual(count(mutated), 64)
            XCTAssertEqual(try parse(mutated.jsonText), mutated)
        }
    }

    private func count(_ value: JSONValue) -> Int {
        switch value {
        case .array(let elements): 1 + elements.reduce(0) { $0 + count($1) }
        case .object(let members): 1 + members.values.reduce(0) { $0 + count($1) }
        default: 1
        }
    }

    private func randomValue(depth: Int, budget: inout Int, random: inout SplitMix) -> JSONValue {
        budget -= 1
        let kind = budget <= 0 || depth >= 8 ? random.next() % 4 : random.next() % 6
        switch kind {
        case 0: return random.next() % 2 == 0 ? .null : .bool(random.next() % 2 == 0)
        case 1: return .number(Double(Int64(bitPattern: random.next()) >> Int64(random.next() % 64)))
        case 2:
            return .number(
                Double(bitPattern: random.next() & 0x7FEF_FFFF_FFFF_FFFF) * (random.next() % 2 == 0 ? 1 : -1)
            )
        case 3:
            let scalars = (0..<Int(random.next() % 12)).compactMap { _ in
                Unicode.Scalar(UInt32(random.next() % (random.next() % 2 == 0 ? 0x80 : 0x11_0000)))
            }
            return .string(String(String.UnicodeScalarView(scalars)))
        case 4:
            var elements: [JSONValue] = []
            for _ in 0..<(random.next() % 5) where budget > 0 {
                elements.append(randomValue(depth: depth + 1, budget: &budget, random: &random))
            }
            return .array(elements)
        default:
            var members: [String: JSONValue] = [:]
            for index in 0..<(random.next() % 5) where budget > 0 {
                members["k\(index)"] = randomValue(depth: depth + 1, budget: &budget, random: &random)
            }
            return .object(members)
        }
    }

    /// A small seeded generator, so that a failure can be replayed.
    private struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    // MARK: Errors

    func testErrorCodesAndDescriptions() {
        let errors: [JSONParseError] = [
            .unexpectedEnd, .unexpectedByte(offset: 3), .trailingData(offset: 3), .invalidNumber(offset: 3),
            .numberOutOfRange(offset: 3), .invalidEscape(offset: 3), .loneSurrogate(offset: 3),
            .controlCharacter(offset: 3), .invalidUTF8(offset: 3), .duplicateKey(offset: 3), .tooDeep(limit: 8),
            .tooManyValues(limit: 64), .stringTooLong(limit: 32768), .numberTooLong(limit: 32),
        ]
        XCTAssertEqual(
            Set(errors.map(\.code)),
            [
                "invalid_json", "json_duplicate_key", "json_too_deep", "json_too_many_values", "json_string_too_long",
                "json_number_too_long",
            ]
        )
        for error in errors {
            XCTAssertTrue(error.code.allSatisfy { $0.isLowercase || $0 == "_" }, error.code)
            XCTAssertFalse(error.description.isEmpty)
        }
        XCTAssertTrue(JSONParseError.trailingData(offset: 4).description.contains("byte 4"))
        XCTAssertTrue(JSONParseError.tooDeep(limit: 8).description.contains("8 levels"))
        XCTAssertTrue(JSONParseError.tooManyValues(limit: 64).description.contains("64 values"))
        XCTAssertTrue(JSONParseError.stringTooLong(limit: 32768).description.contains("32768 bytes"))
        XCTAssertTrue(JSONParseError.numberTooLong(limit: 32).description.contains("32 characters"))
    }
}
