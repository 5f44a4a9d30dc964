import ChatWire
import XCTest

final class FieldValidatorTests: XCTestCase {
    func testNamesAreTrimmedAndLimited() throws {
        XCTAssertEqual(try FieldValidator.name("  alice \n"), "alice")
        XCTAssertEqual(try FieldValidator.name(String(repeating: "é", count: 32)).count, 32)
        XCTAssertThrowsError(try FieldValidator.name("   "))
        XCTAssertThrowsError(try FieldValidator.name(String(repeating: "a", count: 33)))
        XCTAssertThrowsError(try FieldValidator.name("a\u{7}b")) { error in
            XCTAssertEqual((error as? ChatError)?.code, .badRequest)
        }
    }

    func testRoomAlphabet() throws {
        XCTAssertEqual(try FieldValidator.room("Team_7-a"), "Team_7-a")
        for bad in ["", "a b", "a/b", "ä", String(repeating: "a", count: 33), "room\0"] {
            XCTAssertThrowsError(try FieldValidator.room(bad), bad)
        }
    }

    func testText() throws {
        XCTAssertEqual(try FieldValidator.text(" hi "), " hi ", "text is kept as typed")
        XCTAssertThrowsError(try FieldValidator.text(" \n\t"))
        XCTAssertNoThrow(try FieldValidator.text(String(repeating: "x", count: 2000)))
        XCTAssertThrowsError(try FieldValidator.text(String(repeating: "x", count: 2001)))
    }

    func testPassword() {
        XCTAssertThrowsError(try FieldValidator.password(""))
        XCTAssertThrowsError(try FieldValidator.password(String(repeating: "p", count: 65)))
        XCTAssertNoThrow(try FieldValidator.password("Abcdefgh2345"))
    }
}
