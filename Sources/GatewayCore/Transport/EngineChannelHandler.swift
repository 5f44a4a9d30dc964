import NIOCore
import NIOSSL
import NIOWebSocket

/// The WebSocket layer under an `EngineConnection`: hands complete text messages on, answers pings
/// and close frames, refuses binary data, and closes slow consumers.
///
/// Inbound it takes whole `WebSocketFrame`s: NIO's `WebSocketFrameDecoder` (which enforces
/// `maxPayload` per frame), then `WebSocketInboundGuard` (masking, reserved bits, fragment timeout),
/// then `NIOWebSocketFrameAggregator` (fragments joined, their count, size and total bounded).
/// Outbound it writes ready-made frame `ByteBuffer`s from `WebSocketFrameBuilder` straight to the socket,
/// and holds back the channel's `read()` while the connection's reading is paused or it is closing
/// (see `EngineConnection.pauseReading(until:)`).
final class EngineChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent through the pipeline by `GatewayServer.shutdown()`.
    struct ShutdownEvent: Sendable {}

    let connection: EngineConnection
    private let maxPayload: Int

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
        switch frame.opcode {
        case .text:
            // A closing connection ignores messages: do not even unmask them.
            guard connection.acceptsMessages else { return }
            deliver(frame.unmaskedData)
        case .binary:
            connection.closeTransport(
                .protocolError("binary frames are not supported: send Engine.IO text packets"),
                code: .unacceptableData
            )
        case .ping:
            connection.writeControl(
                WebSocketFrameBuilder.pongFrame(payload: frame.unmaskedData, allocator: context.channel.allocator)
            )
        case .pong:
            break
        case .connectionClose:
            receivedClose(frame.unmaskedData)
        default:
            connection.closeTransport(.protocolError("unexpected WebSocket opcode \(frame.opcode)"))
        }
    }

    func read(context: ChannelHandlerContext) {
        if connection.readRequested() {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !context.channel.isWritable {
            // More than maxOutboundBufferedBytes are queued: drop the connection rather than grow.
            connection.closeTransport(.slowConsumer)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.transportDidClose(fallbackReason: .transportClosed)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connection.transportDidClose(fallbackReason: .transportClosed)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ShutdownEvent {
            connection.closeTransport(.serverShutdown)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connection.closeTransport(Self.closeReason(for: error, maxPayload: maxPayload))
    }

    /// How an error from the pipeline in front closes the connection.
    static func closeReason(for error: any Error, maxPayload: Int) -> CloseReason {
        switch error {
        case NIOWebSocketError.invalidFrameLength, NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge:
            return .messageTooLarge(limit: maxPayload)
        case let violation as WebSocketInboundGuard.Violation:
            switch violation {
            case .unmaskedFrame: return .protocolError("client frames must be masked")
            case .reservedBits: return .protocolError("reserved bits set but no extension was negotiated")
            case .unfinishedMessage(let timeout): return .idle(.unfinishedMessage(timeout))
            }
        case let error as NIOWebSocketFrameAggregator.Error:
            switch error {
            case .nonFinalFragmentSizeIsTooSmall: return .protocolError("fragments of a message must not be this small")
            case .tooManyFragments: return .protocolError("a message may not have this many fragments")
            case .receivedNewFrameWithoutFinishingPrevious:
                return .protocolError("a new message started before the fragmented one ended")
            case .didReceiveFragmentBeforeReceivingTextOrBinaryFrame:
                return .protocolError("continuation frame without a started message")
            case .accumulatedFrameSizeIsTooLarge: return .messageTooLarge(limit: maxPayload)
            }
        case let error as NIOWebSocketError:
            return .protocolError("WebSocket protocol error: \(error)")
        case NIOSSLError.uncleanShutdown:
            // TCP ended without TLS's close_notify: as a plain connection that ended without a close frame.
            return .transportClosed
        default:
            return .transportError("\(error)")
        }
    }

    /// Answers a client's close frame (RFC 6455 §5.5.1, §7.4): a valid code is echoed; a 1-byte
    /// payload, a code a peer may not send, or a reason that is not UTF-8 gets 1002.
    private func receivedClose(_ payload: ByteBuffer) {
        var payload = payload
        guard payload.readableBytes != 1 else {
            connection.closeTransport(.protocolError("a close frame's payload must not be 1 byte"))
            return
        }
        guard let raw = payload.readInteger(as: UInt16.self) else {
            connection.closeTransport(.clientClosed, code: .normalClosure)
            return
        }
        guard Self.isValidPeerCloseCode(raw) else {
            connection.closeTransport(.protocolError("close code \(raw) may not be sent by a client"))
            return
        }
        guard Self.validUTF8String(payload) != nil else {
            connection.closeTransport(.protocolError("the close reason is not valid UTF-8"))
            return
        }
        connection.closeTransport(.clientClosed, code: WebSocketErrorCode(codeNumber: Int(raw)))
    }

    /// Whether a peer may send `code` in a close frame: 1000–1003, 1007–1011, 3000–4999.
    static func isValidPeerCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: return true
        default: return false
        }
    }

    private func deliver(_ buffer: ByteBuffer) {
        guard let text = Self.validUTF8String(buffer) else {
            connection.closeTransport(
                .protocolError("text message is not valid UTF-8"),
                code: .dataInconsistentWithMessage
            )
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
