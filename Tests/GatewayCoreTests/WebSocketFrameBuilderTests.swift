import NIOCore
import NIOEmbedded
import NIOWebSocket
import XCTest

@testable import GatewayCore

final class WebSocketFrameBuilderTests: XCTestCase {
    /// Decodes what the builder produced with NIO's own decoder, as a client would.
    private func decode(_ buffer: ByteBuffer) throws -> [WebSocketFrame] {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20))
        )
        try channel.writeInbound(buffer)
        var frames: [WebSocketFrame] = []
        while let frame = try channel.readInbound(as: WebSocketFrame.self) {
            frames.append(frame)
        }
        XCTAssertTrue(try channel.finish().isClean)
        return frames
    }

    func testTextFrameLengthBoundaries() throws {
        for (length, headerLength) in [(0, 2), (1, 2), (125, 2), (126, 4), (65535, 4), (65536, 10), (70000, 10)] {
            let payload = [UInt8](repeating: UInt8(ascii: "x"), count: length)
            let frame = WebSocketFrameBuilder.textFrame(payload)
            XCTAssertEqual(frame.readableBytes, headerLength + length, "length \(length)")
            XCTAssertEqual(WebSocketFrameBuilder.headerLength(payloadLength: length), headerLength)
            XCTAssertEqual(frame.getInteger(at: 0, as: UInt8.self), 0x81, "FIN + text, length \(length)")
            let second = try XCTUnwrap(frame.getInteger(at: 1, as: UInt8.self))
            XCTAssertEqual(second & 0x80, 0, "server frames are never masked")
            switch headerLength {
            case 2: XCTAssertEqual(Int(second), length)
            case 4:
                XCTAssertEqual(second, 126)
                XCTAssertEqual(frame.getInteger(at: 2, as: UInt16.self).map(Int.init), length)
            default:
                XCTAssertEqual(second, 127)
                XCTAssertEqual(frame.getInteger(at: 2, as: UInt64.self).map(Int.init), length)
            }
            let decoded = try decode(frame)
            XCTAssertEqual(decoded.count, 1)
            XCTAssertEqual(decoded.first?.opcode, .text)
            XCTAssertEqual(decoded.first?.fin, true)
            XCTAssertNil(decoded.first?.maskKey)
            XCTAssertEqual(decoded.first.map { Array($0.data.readableBytesView) }, payload, "length \(length)")
        }
    }

    func testStringAndEngineMessageFrames() throws {
        let text = "42[\"message\",{\"text\":\"héllo 👋\"}]"
        let frame = try XCTUnwrap(decode(WebSocketFrameBuilder.textFrame(text)).first)
        XCTAssertEqual(frame.data.getString(at: frame.data.readerIndex, length: frame.data.readableBytes), text)

        let message = try XCTUnwrap(decode(WebSocketFrameBuilder.engineMessageFrame("2[\"x\"]")).first)
        XCTAssertEqual(String(buffer: message.data), "42[\"x\"]")
    }

    func testControlFrames() throws {
        let ping = try XCTUnwrap(decode(WebSocketFrameBuilder.pingFrame(payload: ByteBuffer(string: "hi"))).first)
        XCTAssertEqual(ping.opcode, .ping)
        XCTAssertEqual(String(buffer: ping.data), "hi")

        let longPayload = ByteBuffer(repeating: 1, count: 300)
        let pong = try XCTUnwrap(decode(WebSocketFrameBuilder.pongFrame(payload: longPayload)).first)
        XCTAssertEqual(pong.opcode, .pong)
        XCTAssertEqual(pong.length, 125, "control payloads are cut to 125 bytes")

        let reason = String(repeating: "é", count: 100)  // 200 bytes of UTF-8
        var close = try XCTUnwrap(
            decode(WebSocketFrameBuilder.closeFrame(code: .messageTooLarge, reason: reason)).first
        )
        XCTAssertEqual(close.opcode, .connectionClose)
        XCTAssertLessThanOrEqual(close.length, 125)
        XCTAssertEqual(close.data.readWebSocketErrorCode(), .messageTooLarge)
        let cut = try XCTUnwrap(close.data.readString(length: close.data.readableBytes))
        XCTAssertEqual(cut, String(repeating: "é", count: 61), "cut at a character boundary")
    }
}
