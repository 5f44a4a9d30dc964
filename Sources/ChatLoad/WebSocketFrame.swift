import NIOCore

/// One WebSocket frame as read from the server (payload already unmasked).
public struct WebSocketFrame {
    /// Opcodes the benchmark handles.
    public enum Opcode: UInt8, Sendable {
        case continuation = 0x0
        case text = 0x1
        case binary = 0x2
        case close = 0x8
        case ping = 0x9
        case pong = 0xA
    }

    /// True on the last frame of a message.
    public var fin: Bool
    /// The raw opcode (see ``Opcode``).
    public var opcode: UInt8
    /// The unmasked payload.
    public var payload: ByteBuffer

    /// Takes the next complete frame off `buffer`, or returns nil (leaving `buffer` untouched)
    /// when it does not hold one yet.
    public static func read(from buffer: inout ByteBuffer) -> WebSocketFrame? {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self),
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)
        else { return nil }
        var length = Int(second & 0x7F)
        var header = 2
        if length == 126 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt16.self) else { return nil }
            length = Int(extended)
            header = 4
        } else if length == 127 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt64.self) else { return nil }
            length = Int(clamping: extended)
            header = 10
        }
        let masked = second & 0x80 != 0
        var mask: [UInt8] = []
        if masked {
            guard let key = buffer.getBytes(at: start + header, length: 4) else { return nil }
            mask = key
            header += 4
        }
        guard buffer.readableBytes >= header + length else { return nil }
        buffer.moveReaderIndex(forwardBy: header)
        guard var payload = buffer.readSlice(length: length) else { return nil }
        if masked, let bytes = payload.readBytes(length: length) {
            var unmasked = ByteBuffer()
            unmasked.reserveCapacity(length)
            for (i, byte) in bytes.enumerated() { unmasked.writeInteger(byte ^ mask[i & 3]) }
            payload = unmasked
        }
        return WebSocketFrame(fin: first & 0x80 != 0, opcode: first & 0x0F, payload: payload)
    }

    /// Appends a client frame (masked with `mask`, as RFC 6455 requires of clients) to `buffer`.
    public static func write(
        opcode: Opcode,
        payload: some Collection<UInt8>,
        mask: (UInt8, UInt8, UInt8, UInt8),
        into buffer: inout ByteBuffer
    ) {
        let length = payload.count
        buffer.writeInteger(0x80 | opcode.rawValue)
        if length < 126 {
            buffer.writeInteger(UInt8(0x80 | length))
        } else if length <= 0xFFFF {
            buffer.writeInteger(UInt8(0x80 | 126))
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(UInt8(0x80 | 127))
            buffer.writeInteger(UInt64(length))
        }
        let key = [mask.0, mask.1, mask.2, mask.3]
        buffer.writeBytes(key)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { out in
            var i = 0
            for byte in payload {
                out[i] = byte ^ key[i & 3]
                i += 1
            }
            return i
        }
    }

    /// Appends a client's close frame with code 1000 (normal closure) to `buffer`.
    public static func writeNormalClose(mask: (UInt8, UInt8, UInt8, UInt8), into buffer: inout ByteBuffer) {
        write(opcode: .close, payload: [0x03, 0xE8], mask: mask, into: &buffer)
    }
}
