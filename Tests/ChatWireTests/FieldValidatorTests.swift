import ChatWire
import XCTest

final class FieldValidatorTests: XCTestCase {
    func testNamesAreTrimmedAndLimited() throws {
        XCTAssertEqual(try FieldValidator.name("  alice \n"), "alice")
        XCTAssertEqual(try FieldValidator.name(String(repeating: "é", count: 32)).unicodeScalars.count, 32)
        XCTAssertThrowsError(try FieldValidator.name("   "))
        XCTAssertThrowsError(try FieldValidator.name(String(repeating: "a", count: 33)))
        XCTAssertThrowsError(try FieldValidator.name("a\u{7}b")) { error in
            XCTAssertEqual((error as? ChatError)?.code, .badRequest)
        }
    }

    func testNameLimitsCountBytesAndScalarsNotCharacters() {
        // One grapheme cluster, many scalars: refused by the scalar and byte limits.
        XCTAssertThrowsError(try FieldValidator.name("a" + String(repeating: "\u{301}", count: 100_000)))
        // 17 family emoji are 17 Characters but 425 bytes.
        XCTAssertThrowsError(try FieldValidator.name(String(repeating: "👨‍👩‍👧‍👦", count: 17)))
        // 16 four-byte scalars: 64 bytes, accepted; 17: 68 bytes, refused.
        XCTAssertNoThrow(try FieldValidator.name(String(repeating: "😀", count: 16)))
        XCTAssertThrowsError(try FieldValidator.name(String(repeating: "😀", count: 17)))
        XCTAssertThrowsError(try FieldValidator.name(String(repeating: "a", count: 40_000)))
    }

    func testNamesRefuseInvisibleAndFormattingCharacters() {
        for bad in [
            "alice\u{200B}", "\u{202E}ecila", "al\u{2066}ice", "\u{FEFF}alice", "ali\u{00AD}ce", "a\u{2028}b",
            "\u{301}alice", "a\u{301}\u{302}\u{303}\u{304}\u{305}",
        ] {
            XCTAssertThrowsError(
                try FieldValidator.name(bad),
                bad.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " ")
            )
        }
        XCTAssertNoThrow(try FieldValidator.name("Zoë 🚀"))
        XCTAssertNoThrow(try FieldValidator.name("e\u{301}\u{302}"))
    }

    func testNameKeysFoldCaseAndCompatibilityForms() {
        XCTAssertEqual(FieldValidator.nameKey("ALICE"), FieldValidator.nameKey("alice"))
        XCTAssertEqual(FieldValidator.nameKey("Ａｌｉｃｅ"), FieldValidator.nameKey("alice"))
        XCTAssertEqual(FieldValidator.nameKey("e\u{301}"), FieldValidator.nameKey("\u{E9}"))
        XCTAssertEqual(FieldValidator.nameKey("Straße"), FieldValidator.nameKey("STRASSE"))
    }

    func testNameKeysTreatCyrillicAndGreekLookAlikesAsLatin() {
        XCTAssertEqual(FieldValidator.nameKey("\u{430}lice"), FieldValidator.nameKey("alice"), "Cyrillic а")
        XCTAssertEqual(FieldValidator.nameKey("alic\u{435}"), FieldValidator.nameKey("ALICE"), "Cyrillic е")
        XCTAssertEqual(FieldValidator.nameKey("\u{412}\u{41E}\u{412}"), FieldValidator.nameKey("bob"), "Cyrillic ВОВ")
        XCTAssertEqual(FieldValidator.nameKey("\u{39D}\u{395}\u{39F}"), FieldValidator.nameKey("neo"), "Greek ΝΕΟ")
        XCTAssertEqual(FieldValidator.nameKey("\u{3BD}\u{3B5}\u{3BF}"), FieldValidator.nameKey("\u{39D}\u{395}\u{39F}"))
        XCTAssertEqual(FieldValidator.nameKey("Ｐ\u{430}ul"), FieldValidator.nameKey("paul"), "with NFKC")
        // Other letters of those scripts, and names written in them, stay themselves.
        XCTAssertEqual(FieldValidator.nameKey("Борис"), "бopиc")
        XCTAssertNotEqual(FieldValidator.nameKey("alice"), FieldValidator.nameKey("alise"))
    }

    func testRoomAlphabet() throws {
        XCTAssertEqual(try FieldValidator.room("Team_7-a"), "Team_7-a")
        for bad in ["", "a b", "a/b", "ä", String(repeating: "a", count: 33), "room\0"] {
            XCTAssertThrowsError(try FieldValidator.room(bad), bad)
        }
    }

    func testText() throws {
        XCTAssertEqual(try FieldValidator.text(" hi\tthere\n "), " hi\tthere\n ", "text is kept as typed")
        XCTAssertThrowsError(try FieldValidator.text(" \n\t"))
        XCTAssertNoThrow(try FieldValidator.text(String(repeating: "x", count: 2000)))
        XCTAssertThrowsError(try FieldValidator.text(String(repeating: "x", count: 2001)))
        XCTAssertThrowsError(try FieldValidator.text("bell\u{7}"))
        XCTAssertThrowsError(try FieldValidator.text("line\u{2028}sep"))
    }

    func testTextLimitsCountBytesAndScalarsNotCharacters() {
        XCTAssertThrowsError(
            try FieldValidator.text("a" + String(repeating: "\u{301}", count: 100_000)),
            "1 Character, 200 KB"
        )
        XCTAssertThrowsError(try FieldValidator.text("a" + String(repeating: "\u{301}", count: 2000)), "2001 scalars")
        XCTAssertNoThrow(try FieldValidator.text(String(repeating: "😀", count: 2000)), "8000 bytes")
        XCTAssertThrowsError(try FieldValidator.text(String(repeating: "😀", count: 2000) + "a"), "8001 bytes")
    }

    func testPassword() {
        XCTAssertThrowsError(try FieldValidator.password(""))
        XCTAssertThrowsError(try FieldValidator.password(String(repeating: "p", count: 65)))
        XCTAssertThrowsError(try FieldValidator.password(String(repeating: "é", count: 40)), "80 bytes")
        XCTAssertThrowsError(try FieldValidator.password("pass word"))
        XCTAssertNoThrow(try FieldValidator.password("Abcdefgh2345"))
    }

    func testIdempotencyKeys() {
        XCTAssertEqual(try FieldValidator.key(""), "")
        XCTAssertEqual(try FieldValidator.key("m:1732550000.7-abc_D"), "m:1732550000.7-abc_D")
        XCTAssertThrowsError(try FieldValidator.key(String(repeating: "k", count: 65)))
        XCTAssertThrowsError(try FieldValidator.key("a b"))
    }

    func testLogPreviewsAreCutByBytes() {
        XCTAssertEqual("hello".prefix(utf8Bytes: 10), "hello")
        XCTAssertEqual("héllo".prefix(utf8Bytes: 2), "h…")
        let zalgo = "a" + String(repeating: "\u{301}", count: 10_000)
        XCTAssertLessThanOrEqual(zalgo.prefix(utf8Bytes: 120).utf8.count, 123)
    }
}
