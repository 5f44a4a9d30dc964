import NIOCore
import NIOWebSocket

/// Builds complete, unmasked server-to-client WebSocket frames (RFC 6455 §5.2) as `ByteBuffer`s.
///
/// A frame built once can be written as-is to any number of connections with
/// `EngineConnection.write(frame:)`: `ByteBuffer` is copy-on-write, so the bytes are shared.
public enum WebSocketFrameBuilder {
    /// The largest payload a control frame (ping, pong, close) may carry (RFC 6455 §5.5).
    public static let maxControlPayload = 125

    /// Builds a final text frame whose payload is the given UTF-8 bytes.
    public static func textFrame<Bytes: Collection>(
        _ payload: Bytes,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer where Bytes.Element == UInt8 {
        var buffer = allocator.buffer(capacity: headerLength(payloadLength: payload.count) + payload.count)
        writeTextFrame(payload, into: &buffer)
        return buffer
    }

    /// Appends a final text frame whose payload is the given UTF-8 bytes to `buffer`: the fan-out
    /// writes a batch's frames back to back into one buffer and hands out slices of it.
    public static func writeTextFrame<Bytes: Collection>(_ payload: Bytes, into buffer: inout ByteBuffer)
    where Bytes.Element == UInt8 {
        writeHeader(opcode: .text, payloadLength: payload.count, into: &buffer)
        buffer.writeBytes(payload)
    }

    /// Builds a final text frame whose payload is the UTF-8 encoding of `text`.
    public static func textFrame(_ text: String, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        textFrame(text.utf8, allocator: allocator)
    }

    /// Builds a final text frame carrying an Engine.IO message packet: `"4"` followed by `message`.
    ///
    /// This is the frame `EngineConnection.send(message:)` writes; build it once to fan a message out.
    public static func engineMessageFrame(
        _ message: String,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        let length = 1 + message.utf8.count
        var buffer = allocator.buffer(capacity: headerLength(payloadLength: length) + length)
        writeHeader(opcode: .text, payloadLength: length, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "4"))
        buffer.writeString(message)
        return buffer
    }

    /// Builds a ping control frame; `payload` is cut to 125 bytes.
    public static func pingFrame(
        payload: ByteBuffer? = nil,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        controlFrame(opcode: .ping, payload: payload, allocator: allocator)
    }

    /// Builds a pong control frame; `payload` (normally the ping's payload) is cut to 125 bytes.
    public static func pongFrame(
        payload: ByteBuffer? = nil,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        controlFrame(opcode: .pong, payload: payload, allocator: allocator)
    }

    /// Builds a close control frame with a status code and a UTF-8 reason cut to fit in 123 bytes
    /// (never in the middle of a character).
    public static func closeFrame(
        code: WebSocketErrorCode,
        reason: String = "",
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        var payload = allocator.buffer(capacity: maxControlPayload)
        payload.write(webSocketErrorCode: code)
        // Cut at a Unicode scalar boundary so the reason stays valid UTF-8.
        var budget = maxControlPayload - 2
        var scalars = String.UnicodeScalarView()
        for scalar in reason.unicodeScalars {
            let width = UTF8.width(scalar)
            guard width <= budget else { break }
            budget -= width
            scalars.append(scalar)
        }
        payload.writeString(String(scalars))
        return controlFrame(opcode: .connectionClose, payload: payload, allocator: allocator)
    }

    /// Number of header bytes of an unmasked frame with a payload of `payloadLength` bytes.
    public static func headerLength(payloadLength: Int) -> Int {
        switch payloadLength {
        case ...125: return 2
        case ...Int(UInt16.max): return 4
        default: return 10
        }
    }

    private static func controlFrame(
        opcode: WebSocketOpcode,
        payload: ByteBuffer?,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        let body = payload.map {
            $0.getSlice(at: $0.readerIndex, length: min($0.readableBytes, maxControlPayload)) ?? $0
        }
        let length = body?.readableBytes ?? 0
        var buffer = allocator.buffer(capacity: 2 + length)
        writeHeader(opcode: opcode, payloadLength: length, into: &buffer)
        if var body {
            buffer.writeBuffer(&body)
        }
        return buffer
    }

    private static func writeHeader(opcode: WebSocketOpcode, payloadLength: Int, into buffer: inout ByteBuffer) {
        // FIN set, no RSV bits, no mask: the server never masks.
        buffer.writeInteger(UInt8(0x80) | UInt8(webSocketOpcode: opcode))
        switch payloadLength {
        case ...125:
            buffer.writeInteger(UInt8(payloadLength))
        case ...Int(UInt16.max):
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(payloadLength))
        default:
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(payloadLength))
        }
    }
}
