import ChatLogging
import Foundation
import Logging
import XCTest

final class TerminalLogHandlerTests: XCTestCase {
    func testTimestampsAreUTCWithMilliseconds() {
        XCTAssertEqual(LogTimestamp.format(seconds: 0, milliseconds: 7), "1970-01-01T00:00:00.007Z")
        XCTAssertEqual(LogTimestamp.format(seconds: 1_795_606_639, milliseconds: 914), "2026-11-25T11:37:19.914Z")
        XCTAssertEqual(LogTimestamp.now().count, 24)
    }

    func testOneLineWithPreferredKeysFirst() {
        let line = TerminalLogHandler.format(
            timestamp: "T",
            level: .info,
            label: "broker",
            message: "join",
            metadata: ["conn": "7", "zeta": "z", "room": "lobby", "name": "ann"]
        )
        XCTAssertEqual(line, "T INFO  broker join room=lobby name=ann conn=7 zeta=z")
    }

    func testUserTextCannotBreakOrForgeALine() {
        let line = TerminalLogHandler.format(
            timestamp: "T",
            level: .info,
            label: "broker",
            message: "message",
            metadata: ["text": "hi\n2026-01-01T00:00:00.000Z INFO  broker join room=x \"q\" \u{1B}[31m"]
        )
        XCTAssertFalse(line.contains("\n"))
        XCTAssertFalse(line.contains("\u{1B}"))
        XCTAssertTrue(
            line.hasSuffix(#"text="hi\n2026-01-01T00:00:00.000Z INFO  broker join room=x \"q\" \u{1b}[31m""#),
            line
        )
    }

    /// The escaper works on UTF-8 bytes: C1 controls and the Unicode line separators are escaped too,
    /// other non-ASCII text passes unchanged, and a backslash cannot fake an escape.
    func testNonASCIIControlsAndSeparatorsAreEscapedAndOtherTextKept() {
        let line = TerminalLogHandler.format(
            timestamp: "T",
            level: .info,
            label: "broker",
            message: "message",
            metadata: ["text": "é\u{85}x\u{2028}y\u{2029}z😀\\n\u{9F}", "name": "Zoë"]
        )
        XCTAssertEqual(line, #"T INFO  broker message name=Zoë text="é\u{85}x\u{2028}y\u{2029}z😀\\n\u{9f}""#)
    }
}
