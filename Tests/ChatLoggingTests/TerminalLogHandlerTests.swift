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
            timestamp: "T", level: .info, label: "broker", message: "join",
            metadata: ["conn": "7", "zeta": "z", "room": "lobby", "name": "ann"])
        XCTAssertEqual(line, "T INFO  broker join room=lobby name=ann conn=7 zeta=z")
    }

    func testUserTextCannotBreakOrForgeALine() {
        let line = TerminalLogHandler.format(
            timestamp: "T", level: .info, label: "broker", message: "message",
            metadata: ["text": "hi\n2026-01-01T00:00:00.000Z INFO  broker join room=x \"q\" \u{1B}[31m"])
        XCTAssertFalse(line.contains("\n"))
        XCTAssertFalse(line.contains("\u{1B}"))
        XCTAssertTrue(line.hasSuffix(#"text="hi\n2026-01-01T00:00:00.000Z INFO  broker join room=x \"q\" \u{1b}[31m""#), line)
    }
}
