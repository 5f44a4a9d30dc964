import XCTest

@testable import SocketIO

/// Any byte collection in, round trips through the writer, random values, and the errors' codes.
extension JSONParserTests {
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
