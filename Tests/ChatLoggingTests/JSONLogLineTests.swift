import Foundation
import Logging
import XCTest

@testable import ChatLogging

final class JSONLogLineTests: XCTestCase {
    func testOneObjectPerLineWithTimeLevelLabelMessageAndMetadata() throws {
        let line = JSONLogLine.format(
            timestamp: "2026-11-25T11:24:03.120Z",
            level: .notice,
            label: "broker",
            message: "join",
            metadata: ["conn": "7", "zeta": "z", "room": "lobby", "name": "ann"]
        )
        XCTAssertEqual(
            line,
            #"{"time":"2026-11-25T11:24:03.120Z","level":"notice","label":"broker","message":"join","metadata":{"room":"lobby","name":"ann","conn":"7","zeta":"z"}}"#
        )
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["time", "level", "label", "message", "metadata"])
    }

    func testNestedMetadataStaysStructured() throws {
        let line = JSONLogLine.format(
            timestamp: "T",
            level: .info,
            label: "gateway",
            message: "m",
            metadata: ["list": ["a", "b"], "map": ["k": "v"], "number": .stringConvertible(42)]
        )
        XCTAssertTrue(line.hasSuffix(#""metadata":{"list":["a","b"],"map":{"k":"v"},"number":"42"}}"#), line)
    }

    /// User text (names, messages, room names) can neither end the line nor forge fields, and
    /// comes back unchanged from a JSON parser.
    func testUserTextCannotBreakOrForgeALine() throws {
        let hostile = "hi\n{\"level\":\"critical\"}\r\t\"q\" \\ \u{1B}[31m \u{85}\u{9B}\u{7F} x\u{2028}y\u{2029}z é😀"
        let line = JSONLogLine.format(
            timestamp: "T",
            level: .info,
            label: "broker",
            message: hostile,
            metadata: ["text": .string(hostile)]
        )
        XCTAssertFalse(
            line.contains("\n") || line.contains("\r") || line.contains("\u{1B}") || line.contains("\u{2028}")
        )
        XCTAssertFalse(line.unicodeScalars.contains { (0x80...0x9F).contains($0.value) || $0.value == 0x7F }, line)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["message"] as? String, hostile)
        XCTAssertEqual((object["metadata"] as? [String: Any])?["text"] as? String, hostile)
        XCTAssertEqual(object["level"] as? String, "info")
    }

    /// The JSON format escapes exactly the characters the text format escapes (plus JSON's own
    /// quote and backslash).
    func testEscapesTheSameCharactersAsTheTextFormat() throws {
        let scalars = Array(0...0x2FF) + Array(0x2020...0x2030) + [0xFEFF, 0x1F600]
        for value in scalars {
            guard let scalar = Unicode.Scalar(value), value != 0x22, value != 0x5C else { continue }
            let text = String(Character(scalar))
            let textEscapes =
                TerminalLogHandler.format(timestamp: "T", level: .info, label: "l", message: text, metadata: [:])
                != "T INFO  l " + text
            let jsonEscapes = !JSONLogLine.format(
                timestamp: "T",
                level: .info,
                label: "l",
                message: text,
                metadata: [:]
            )
            .contains(#""message":""# + text + "\"")
            XCTAssertEqual(textEscapes, jsonEscapes, "U+\(String(value, radix: 16))")
        }
    }

    func testTheHandlerWritesJSONLinesWhenAskedTo() throws {
        let lines = LockedLines()
        var handler = TerminalLogHandler(label: "gateway", output: { lines.append($0) })
        handler.format = .json
        handler.metadata = ["gateway": "gw-1"]
        let logger = Logger(label: "gateway") { _ in handler }
        logger.info("connect", metadata: ["conn": "3"])
        let line = try XCTUnwrap(lines.all.first)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["message"] as? String, "connect")
        XCTAssertEqual(object["metadata"] as? [String: String], ["gateway": "gw-1", "conn": "3"])
        XCTAssertEqual((object["time"] as? String)?.count, 24)
    }

    func testTheDroppedLinesNoticeFollowsTheFormat() throws {
        let notice = BufferedTerminalOutput.droppedNotice(lines: 3, format: .json)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(notice.utf8)) as? [String: Any])
        XCTAssertEqual(object["label"] as? String, "log")
        XCTAssertEqual(object["level"] as? String, "warning")
        XCTAssertEqual(object["metadata"] as? [String: String], ["lines": "3"])
        XCTAssertTrue(
            BufferedTerminalOutput.droppedNotice(lines: 3, format: .text).hasSuffix(
                " WARN  log: dropped 3 lines (the log output did not keep up)"
            )
        )
    }
}

/// Lines collected from a handler's output closure.
private final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
