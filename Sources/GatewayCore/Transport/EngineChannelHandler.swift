import NIOCore
import NIOWebSocket

/// The WebSocket layer under an `EngineConnection`: reassembles text messages, answers pings and
/// close frames, enforces `maxPayload`, refuses binary data, and closes slow consumers.
///
/// Inbound it takes `WebSocketFrame`s from NIO's `WebSocketFrameDecoder`; outbound it writes
/// ready-made frame `ByteBuffer`s from `WebSocketFrameBuilder` straight to the socket.
final class EngineChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = ByteBuffer

    /// Sent through the pipeline by `GatewayServer.shutdown()`.
    struct ShutdownEvent: Sendable {}

    let connection: EngineConnection
    private let maxPayload: Int
    /// The text message being reassembled from fragments.
    private var fragments: ByteBuffer?

    init(connection: EngineConnection, maxPayload: Int) {
        self.connection = connection
        self.maxPayload = maxPayload
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            connection.open(context: context)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        connection.open(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        guard frame.reservedBits.isEmpty else {
            connection.closeTransport(code: .protocolError, reason: "reserved bits set but no extension was negotiated")
            return
        }
        guard frame.maskKey != nil else {
            connection.closeTransport(code: .protocolError, reason: "client frames must be masked")
            return
        }
        switch frame.opcode {
        case .text:
            guard fragments == nil else {
                connection.closeTransport(code: .protocolError, reason: "a new message started before the fragmented one ended")
                return
            }
            if frame.fin {
                deliver(frame.unmaskedData)
            } else {
                fragments = frame.unmaskedData
            }
        case .continuation:
            guard var buffer = fragments else {
                connection.closeTransport(code: .protocolError, reason: "continuation frame without a started message")
                return
            }
            guard buffer.readableBytes + frame.length <= maxPayload else {
                fragments = nil
                closeTooLarge()
                return
            }
            fragments = nil  // Keep the buffer uniquely referenced while appending.
            var data = frame.unmaskedData
            buffer.writeBuffer(&data)
            if frame.fin {
                deliver(buffer)
            } else {
                fragments = buffer
            }
        case .binary:
            connection.closeTransport(
                code: .unacceptableData,
                reason: "binary frames are not supported: send Engine.IO text packets"
            )
        case .ping:
            connection.writeControl(WebSocketFrameBuilder.pongFrame(payload: frame.unmaskedData, allocator: context.channel.allocator))
        case .pong:
            break
        case .connectionClose:
            var payload = frame.unmaskedData
            let code = payload.readableBytes >= 2 ? payload.readWebSocketErrorCode() : nil
            // Echo the close (RFC 6455 §5.5.1), then close the TCP connection.
            connection.closeTransport(code: code ?? .normalClosure, reason: "client closed the WebSocket")
        default:
            connection.closeTransport(code: .protocolError, reason: "unknown WebSocket opcode \(frame.opcode)")
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !context.channel.isWritable {
            // More than maxOutboundBufferedBytes are queued: drop the connection rather than grow.
            connection.closeTransport(code: nil, reason: "slow consumer")
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.transportDidClose(fallbackReason: "transport closed")
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connection.transportDidClose(fallbackReason: "transport closed")
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ShutdownEvent {
            connection.closeTransport(code: .goingAway, reason: "server shutting down")
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case NIOWebSocketError.invalidFrameLength:
            closeTooLarge()
        case let error as NIOWebSocketError:
            connection.closeTransport(code: .protocolError, reason: "WebSocket protocol error: \(error)")
        default:
            connection.closeTransport(code: nil, reason: "transport error: \(error)")
        }
    }

    private func closeTooLarge() {
        connection.closeTransport(
            code: .messageTooLarge,
            reason: "message larger than maxPayload (\(maxPayload) bytes)"
        )
    }

    private func deliver(_ buffer: ByteBuffer) {
        guard let text = Self.validUTF8String(buffer) else {
            connection.closeTransport(code: .dataInconsistentWithMessage, reason: "text message is not valid UTF-8")
            return
        }
        connection.receive(packet: text)
    }

    /// The buffer's bytes as a String, or `nil` when they are not valid UTF-8.
    static func validUTF8String(_ buffer: ByteBuffer) -> String? {
        buffer.withUnsafeReadableBytes { bytes in
            // Fast path: ASCII needs no validation beyond the high bit.
            if !bytes.contains(where: { $0 >= 0x80 }) {
                return String(decoding: bytes, as: UTF8.self)
            }
            var iterator = bytes.makeIterator()
            var decoder = UTF8()
            var scalars = String.UnicodeScalarView()
            while true {
                switch decoder.decode(&iterator) {
                case .scalarValue(let scalar): scalars.append(scalar)
                case .emptyInput: return String(scalars)
                case .error: return nil
                }
            }
        }
    }
}
