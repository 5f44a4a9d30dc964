import NIOCore
import NIOWebSocket

/// Sits between NIO's `WebSocketFrameDecoder` and `NIOWebSocketFrameAggregator`: refuses frames a
/// client must never send (unmasked, reserved bits set) before the aggregator unmasks them, and
/// bounds how long a fragmented message may take to finish.
///
/// A violation is reported as a ``Violation`` error down the pipeline (the `EngineChannelHandler`
/// closes the connection with it); later frames are dropped.
final class WebSocketInboundGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    /// What the guard refused.
    enum Violation: Error, Equatable {
        /// A client frame without a masking key (RFC 6455 §5.1).
        case unmaskedFrame
        /// RSV bits set although no extension was negotiated.
        case reservedBits
        /// A fragmented message not finished within the fragment timeout.
        case unfinishedMessage(TimeAmount)
    }

    private let fragmentTimeout: TimeAmount
    private var fragmentDeadline: Scheduled<Void>?
    private var failed = false

    /// A guard that allows a fragmented message `fragmentTimeout` from its first fragment to its last.
    init(fragmentTimeout: TimeAmount) {
        self.fragmentTimeout = fragmentTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let frame = Self.unwrapInboundIn(data)
        guard frame.reservedBits.isEmpty else { return fail(.reservedBits, context: context) }
        guard frame.maskKey != nil else { return fail(.unmaskedFrame, context: context) }
        switch frame.opcode {
        case .text where !frame.fin, .binary where !frame.fin:
            if fragmentDeadline == nil {
                let timeout = fragmentTimeout
                fragmentDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                    fragmentDeadline = nil
                    fail(.unfinishedMessage(timeout), context: context)
                }
            }
        case .continuation where frame.fin:
            cancelDeadline()
        default:
            break
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelDeadline()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelDeadline()
        context.fireChannelInactive()
    }

    private func fail(_ violation: Violation, context: ChannelHandlerContext) {
        failed = true
        cancelDeadline()
        context.fireErrorCaught(violation)
    }

    private func cancelDeadline() {
        fragmentDeadline?.cancel()
        fragmentDeadline = nil
    }
}
