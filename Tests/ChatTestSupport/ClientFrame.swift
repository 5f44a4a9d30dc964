import NIOCore
import NIOWebSocket

/// A client WebSocket frame, masked as RFC 6455 requires (or unmasked, to test that refusal).
public func clientFrame(
    _ opcode: WebSocketOpcode,
    _ payload: [UInt8],
    fin: Bool = true,
    masked: Bool = true
) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.writeInteger((fin ? UInt8(0x80) : 0) | UInt8(webSocketOpcode: opcode))
    let maskBit: UInt8 = masked ? 0x80 : 0
    switch payload.count {
    case ...125: buffer.writeInteger(maskBit | UInt8(payload.count))
    case ...65535:
        buffer.writeInteger(maskBit | 126)
        buffer.writeInteger(UInt16(payload.count))
    default:
        buffer.writeInteger(maskBit | 127)
        buffer.writeInteger(UInt64(payload.count))
    }
    guard masked else {
        buffer.writeBytes(payload)
        return buffer
    }
    let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
    buffer.writeBytes(key)
    buffer.writeBytes(payload.enumerated().map { $0.element ^ key[$0.offset % 4] })
    return buffer
}

/// A masked client frame carrying `text` as UTF-8.
public func clientFrame(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true) -> ByteBuffer {
    clientFrame(opcode, Array(text.utf8), fin: fin)
}
