import XCTest

@testable import SocketIO

final class JSONWriterTests: XCTestCase {
    private func written(_ body: (inout JSONWriter) -> Void) -> String {
        var writer = JSONWriter()
        body(&writer)
        XCTAssertEqual(writer.bytes, Array(writer.text.utf8))
        return writer.text
    }

    private func quoted(_ string: String) -> String {
        written { $0.string(string) }
    }

    func testCommasInNestedContainers() throws {
        let text = written { w in
            w.beginObject()
            w.key("a")
            w.beginArray()
            w.int(1)
            w.beginObject()
            w.endObject()
            w.beginArray()
            w.endArray()
            w.null()
            w.endArray()
            w.key("b")
            w.bool(false)
            w.key("c")
            w.beginObject()
            w.key("d")
            w.bool(true)
            w.endObject()
            w.endObject()
        }
        XCTAssertEqual(text, #"{"a":[1,{},[],null],"b":false,"c":{"d":true}}"#)
        XCTAssertEqual(
            try JSONValue.parse(text),
            ["a": [1, [:], [], nil], "b": false, "c": ["d": true]]
        )
    }

    func testIntegers() {
        XCTAssertEqual(written { $0.int(0) }, "0")
        XCTAssertEqual(written { $0.int(-7) }, "-7")
        XCTAssertEqual(written { $0.int(Int64.min) }, "-9223372036854775808")
        XCTAssertEqual(written { $0.int(Int64.max) }, "9223372036854775807")
        XCTAssertEqual(written { $0.uint(UInt64.max) }, "18446744073709551615")
        XCTAssertEqual(written { $0.uint(1_000) }, "1000")
    }

    func testDoubles() throws {
        XCTAssertEqual(written { $0.double(3) }, "3")
        XCTAssertEqual(written { $0.double(-0.0) }, "0")
        XCTAssertEqual(written { $0.double(1.5) }, "1.5")
        XCTAssertEqual(written { $0.double(.nan) }, "null")
        XCTAssertEqual(written { $0.double(.infinity) }, "null")
        for value in [0.1, -2.5e-7, 1e300, .leastNonzeroMagnitude, 9_007_199_254_740_993.0, 1e16, -123456.789] {
            XCTAssertEqual(try JSONValue.parse(written { $0.double(value) }), .number(value), "\(value)")
        }
    }

    func testEscapesQuoteBackslashAndShortEscapes() {
        XCTAssertEqual(quoted("a\"b\\c/d"), #""a\"b\\c/d""#)
        XCTAssertEqual(quoted("\n\r\t\u{8}\u{C}"), #""\n\r\t\b\f""#)
    }

    func testEscapesOtherControlCharacters() {
        XCTAssertEqual(quoted("\u{0}\u{1}\u{1F}x"), #""\u0000\u0001\u001fx""#)
    }

    func testEscapesLineAndParagraphSeparators() {
        XCTAssertEqual(quoted("a\u{2028}b\u{2029}c"), #""a\u2028b\u2029c""#)
        // Other characters that start with the same UTF-8 byte (E2) pass through.
        XCTAssertEqual(quoted("\u{2026}€\u{202A}"), "\"\u{2026}€\u{202A}\"")
        XCTAssertEqual(quoted("end\u{2028}"), #""end\u2028""#)
    }

    func testNonASCIIPassesThrough() {
        XCTAssertEqual(quoted("héllo 😀 日本"), "\"héllo 😀 日本\"")
    }

    func testEveryEscapedStringReparsesToTheOriginal() throws {
        var all = ""
        for scalar in 0..<0x80 { all.unicodeScalars.append(Unicode.Scalar(UInt8(scalar))) }
        all += "\u{2028}\u{2029}😀é\u{FFFF}\u{10FFFF}"
        for string in [all, "", "\"", "\\", "\u{7F}", "plain"] {
            XCTAssertEqual(try JSONValue.parse(quoted(string)), .string(string))
        }
    }

    func testKeysAreEscaped() throws {
        let text = written { w in
            w.beginObject()
            w.key("a\"\n")
            w.int(1)
            w.endObject()
        }
        XCTAssertEqual(text, #"{"a\"\n":1}"#)
        XCTAssertEqual(try JSONValue.parse(text), ["a\"\n": 1])
    }

    func testRawSplicesAValue() throws {
        let text = written { w in
            w.beginArray()
            w.string("x")
            w.raw(Array(#"{"k":[1,2]}"#.utf8))
            w.int(3)
            w.endArray()
        }
        XCTAssertEqual(text, #"["x",{"k":[1,2]},3]"#)
    }

    func testWritesJSONValue() throws {
        let value: JSONValue = ["z": [1, 2.5, "s", true, nil], "a": ["n": [:]], "m": "\u{2028}"]
        let text = written { $0.value(value) }
        XCTAssertEqual(text, #"{"a":{"n":{}},"m":"\u2028","z":[1,2.5,"s",true,null]}"#)
        XCTAssertEqual(try JSONValue.parse(text), value)
    }
}
