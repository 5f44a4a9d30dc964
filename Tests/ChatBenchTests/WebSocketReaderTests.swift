import ChatLoad
import NIOCore
import XCTest

final class WebSocketReaderTests: XCTestCase {
    /// A server frame (unmasked) of `opcode` with `payload`, `fin` or not.
    private func frame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        [(fin ? 0x80 : 0) | opcode, UInt8(payload.count)] + payload
    }

    private func describe(_ event: WebSocketReader.Event) -> String {
        switch event {
        case .upgraded: "upgraded"
        case .refused(let status): "refused \(status)"
        case .text(let payload): "text \(String(buffer: payload))"
        case .ping(let payload): "ping \(String(buffer: payload))"
        case .close(let code, let reason): "close \(code.map(String.init) ?? "-") \(reason)"
        }
    }

    func testUpgradeFramesFragmentsPingAndCloseComeOutInOrderWhateverTheChunks() {
        let bytes =
            Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n".utf8)
            + frame(0x1, Array("40{}".utf8))
            + frame(0x1, Array("42[\"a".utf8), fin: false)
            + frame(0x0, Array("b\"]".utf8))
            + frame(0x9, Array("p".utf8))
            + frame(0x8, [0x03, 0xF0] + Array("rate".utf8))
            + frame(0x1, Array("after the close".utf8))
        let expected = ["upgraded", "text 40{}", "text 42[\"ab\"]", "ping p", "close 1008 rate"]
        for split in 1..<bytes.count {
            var reader = WebSocketReader()
            var events: [String] = []
            reader.read(ByteBuffer(bytes: bytes[..<split])) { events.append(describe($0)) }
            reader.read(ByteBuffer(bytes: bytes[split...])) { events.append(describe($0)) }
            XCTAssertEqual(events, expected, "split at \(split)")
            XCTAssertTrue(reader.isDone)
        }
    }

    func testARefusedUpgradeEndsTheReaderWithItsStatus() {
        var reader = WebSocketReader()
        var events: [String] = []
        let response = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 10\r\n\r\n{\"code\":\"too_many_connections\"}"
        reader.read(ByteBuffer(string: response)) { events.append(describe($0)) }
        XCTAssertEqual(events, ["refused HTTP/1.1 429 Too Many Requests"])
        XCTAssertTrue(reader.isDone)
        XCTAssertEqual(WebSocketUpgrade.statusCode(of: "HTTP/1.1 429 Too Many Requests"), 429)
    }
}
